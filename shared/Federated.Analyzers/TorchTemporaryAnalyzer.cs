using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Federated.Analyzers;

/// <summary>
/// Finds native TorchSharp objects that live only as a temporary while LibTorch uses them. TorchSharp's
/// <c>Scalar</c> (and a <c>Tensor</c> outside a dispose scope) holds a raw native pointer and frees it in its
/// finalizer; a method such as <c>Tensor.mul(Scalar s)</c> reads <c>s.Handle</c> and then calls into LibTorch with no
/// reference to <c>s</c> left, so a collection during the call can run the finalizer and free the native scalar while
/// LibTorch still reads it (seen as LibTorch's "toDouble"/"toFloat" check in c10/core/Scalar.h, or a crash).
/// A Scalar must therefore be created explicitly and held by a <c>using</c> across the call (Federated.Learning's
/// <c>TorchScalars</c> does that), and the TorchSharp members that make such temporaries themselves are not used.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class TorchTemporaryAnalyzer : DiagnosticAnalyzer
{
    private const string Category = "Reliability";
    private const string Help = "hold the value in `using var s = x.ToScalar();` across the call, or use Federated.Learning.TorchScalars";

    public static readonly DiagnosticDescriptor ImplicitConversion = new(
        "FT0001", "Implicit conversion to a TorchSharp native object",
        "'{0}' is converted implicitly to a TorchSharp {1} that nothing holds while LibTorch reads it; its finalizer can free it during the call: " + Help,
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TemporaryInside = new(
        "FT0002", "TorchSharp member that makes a temporary Scalar itself",
        "{0} creates a temporary TorchSharp Scalar inside TorchSharp ({1}) that its finalizer can free while LibTorch reads it: " + Help,
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnownedScalar = new(
        "FT0003", "TorchSharp Scalar not owned by a using",
        "the Scalar from {0} is not the resource of a using declaration or statement; nothing keeps it alive during the native call: " + Help,
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor LibraryOptimiser = new(
        "FT0004", "TorchSharp optimiser",
        "TorchSharp's {0} makes temporary Scalars in every step (its default alpha, betas, eps, step size); use Federated.Learning.TorchOptimisers instead",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(ImplicitConversion, TemporaryInside, UnownedScalar, LibraryOptimiser);

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var scalar = start.Compilation.GetTypeByMetadataName("TorchSharp.Scalar");
            var tensor = start.Compilation.GetTypeByMetadataName("TorchSharp.torch+Tensor");
            if (scalar is null || tensor is null) return; // the project does not use TorchSharp
            var types = new TorchTypes(scalar, tensor, start.Compilation.GetTypeByMetadataName("TorchSharp.Modules.OptimizerHelper"));
            start.RegisterOperationAction(c => OnConversion(c, types), OperationKind.Conversion);
            start.RegisterOperationAction(c => OnOperator(c, types, ((IBinaryOperation)c.Operation).OperatorMethod), OperationKind.Binary);
            start.RegisterOperationAction(c => OnOperator(c, types, ((ICompoundAssignmentOperation)c.Operation).OperatorMethod), OperationKind.CompoundAssignment);
            start.RegisterOperationAction(c => OnInvocation(c, types), OperationKind.Invocation);
            start.RegisterOperationAction(c => OnCreation(c, types), OperationKind.ObjectCreation);
        });
    }

    private sealed class TorchTypes
    {
        public TorchTypes(INamedTypeSymbol scalar, INamedTypeSymbol tensor, INamedTypeSymbol? optimiser)
        {
            Scalar = scalar;
            Tensor = tensor;
            Optimiser = optimiser;
        }

        public INamedTypeSymbol Scalar { get; }
        public INamedTypeSymbol Tensor { get; }
        public INamedTypeSymbol? Optimiser { get; }

        public bool IsScalar(ITypeSymbol? t) => SymbolEqualityComparer.Default.Equals(t, Scalar);
        public bool IsTensor(ITypeSymbol? t) => t is not null && (SymbolEqualityComparer.Default.Equals(t, Tensor) || InheritsFrom(t, Tensor));
        public bool IsNative(ITypeSymbol? t) => IsScalar(t) || SymbolEqualityComparer.Default.Equals(t, Tensor);

        /// <summary>A TorchSharp optimiser type (not one of ours deriving from it).</summary>
        public bool IsLibraryOptimiser(ITypeSymbol? t) =>
            Optimiser is not null && t is INamedTypeSymbol named && IsTorchSharp(named) && InheritsFrom(named, Optimiser);
    }

    private static void OnConversion(OperationAnalysisContext context, TorchTypes types)
    {
        var conversion = (IConversionOperation)context.Operation;
        if (!conversion.IsImplicit || conversion.OperatorMethod is not { } method) return;
        if (!types.IsNative(method.ContainingType) || !types.IsNative(conversion.Type)) return;
        context.ReportDiagnostic(Diagnostic.Create(ImplicitConversion, conversion.Operand.Syntax.GetLocation(),
            conversion.Operand.Syntax.ToString(), types.IsScalar(conversion.Type) ? "Scalar" : "Tensor"));
    }

    // Tensor operators that pass the caller's own operands and add no Scalar of their own.
    private static bool OperatorIsSafe(IMethodSymbol method, TorchTypes types)
    {
        if (method.Parameters.Length != 2) return true; // unary minus and bitwise not make no Scalar
        bool leftTensor = types.IsTensor(method.Parameters[0].Type), rightTensor = types.IsTensor(method.Parameters[1].Type);
        bool leftScalar = types.IsScalar(method.Parameters[0].Type), rightScalar = types.IsScalar(method.Parameters[1].Type);
        switch (method.Name)
        {
            case WellKnownMemberNames.MultiplyOperatorName:
                return (leftTensor || leftScalar) && (rightTensor || rightScalar);
            case WellKnownMemberNames.SubtractionOperatorName:
            case WellKnownMemberNames.DivisionOperatorName:
            case WellKnownMemberNames.ModulusOperatorName:
                return leftTensor && (rightTensor || rightScalar);
            case WellKnownMemberNames.BitwiseAndOperatorName:
            case WellKnownMemberNames.BitwiseOrOperatorName:
            case WellKnownMemberNames.ExclusiveOrOperatorName:
                return leftTensor && rightTensor;
            default:
                return false; // + always passes TorchSharp's own alpha 1; numbers become temporaries inside the operator
        }
    }

    private static void OnOperator(OperationAnalysisContext context, TorchTypes types, IMethodSymbol? method)
    {
        if (method is null || !SymbolEqualityComparer.Default.Equals(method.ContainingType, types.Tensor)) return;
        if (OperatorIsSafe(method, types)) return;
        context.ReportDiagnostic(Diagnostic.Create(TemporaryInside, context.Operation.Syntax.GetLocation(),
            $"the Tensor operator in '{context.Operation.Syntax}'", Describe(method)));
    }

    private static void OnInvocation(OperationAnalysisContext context, TorchTypes types)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;
        if (!IsTorchSharp(method.ContainingType)) return;
        if (types.IsLibraryOptimiser(method.ReturnType))
        {
            context.ReportDiagnostic(Diagnostic.Create(LibraryOptimiser, invocation.Syntax.GetLocation(), method.ReturnType.Name));
            return;
        }
        if (MakesItsOwnScalar(method, types))
        {
            context.ReportDiagnostic(Diagnostic.Create(TemporaryInside, invocation.Syntax.GetLocation(), $"'{invocation.Syntax}'", Describe(method)));
            return;
        }
        if (method.Name == "ToScalar" && types.IsScalar(method.ReturnType) && !IsUsingResource(invocation.Syntax))
            context.ReportDiagnostic(Diagnostic.Create(UnownedScalar, invocation.Syntax.GetLocation(), $"'{invocation.Syntax}'"));
    }

    private static void OnCreation(OperationAnalysisContext context, TorchTypes types)
    {
        var creation = (IObjectCreationOperation)context.Operation;
        if (types.IsLibraryOptimiser(creation.Type))
            context.ReportDiagnostic(Diagnostic.Create(LibraryOptimiser, creation.Syntax.GetLocation(), creation.Type!.Name));
    }

    /// <summary>
    /// TorchSharp 0.107 members that pass a Scalar they created themselves (read in its source): the add overloads
    /// without alpha (alpha 1), addcdiv without value (value 1), arange without start or step (0 and 1), and the
    /// Tensor-to-number readers that go through
    /// a temporary <c>ToScalar()</c>.
    /// </summary>
    private static bool MakesItsOwnScalar(IMethodSymbol method, TorchTypes types)
    {
        var parameters = method.Parameters;
        bool onTensor = SymbolEqualityComparer.Default.Equals(method.ContainingType, types.Tensor);
        bool onTorch = method.ContainingType.Name == "torch" && method.ContainingType.ContainingType is null;
        switch (method.Name)
        {
            case "add":
            case "add_":
                return (onTensor && parameters.Length == 1) || (onTorch && parameters.Length == 2);
            case "addcdiv":
            case "addcdiv_":
                return (onTensor && parameters.Length == 2) || (onTorch && parameters.Length == 3);
            case "arange":
                return onTorch && parameters.Count(p => types.IsScalar(p.Type)) < 3;
        }
        return method.ContainingType.Name == "TensorExtensionMethods" && method.IsExtensionMethod && parameters.Length >= 1
            && types.IsTensor(parameters[0].Type) && NumberReaders.Contains(method.Name);
    }

    private static readonly ImmutableHashSet<string> NumberReaders = ImmutableHashSet.Create(
        "ToBoolean", "ToByte", "ToSByte", "ToInt16", "ToInt32", "ToInt64", "ToSingle", "ToDouble", "ToHalf", "ToBFloat16",
        "ToComplex32", "ToComplex64", "ToComplexFloat32", "ToComplexFloat64");

    private static bool IsUsingResource(SyntaxNode node)
    {
        var parent = node.Parent;
        while (parent is ParenthesizedExpressionSyntax or CastExpressionSyntax) parent = parent.Parent;
        if (parent is not EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax declaration } })
            return parent is UsingStatementSyntax;
        return declaration.Parent is UsingStatementSyntax
            || (declaration.Parent is LocalDeclarationStatementSyntax local && local.UsingKeyword.IsKind(SyntaxKind.UsingKeyword));
    }

    private static bool IsTorchSharp(ISymbol? symbol) => symbol?.ContainingAssembly?.Name == "TorchSharp";

    private static bool InheritsFrom(ITypeSymbol type, ITypeSymbol baseType)
    {
        for (var current = type.BaseType; current is not null; current = current.BaseType)
            if (SymbolEqualityComparer.Default.Equals(current, baseType)) return true;
        return false;
    }

    private static string Describe(IMethodSymbol method) =>
        $"{method.ContainingType.Name}.{method.Name}({string.Join(", ", method.Parameters.Select(p => p.Type.Name))})";
}
