using System.Collections.Immutable;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Federated.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Federated.Analyzers.Tests;

/// <summary>
/// The temporary-Scalar check fires on each unsafe TorchSharp form and stays silent on the held forms. Each example
/// line that must be reported ends in a comment naming its rule ids; every other line must stay clean.
/// </summary>
public sealed partial class TorchTemporaryAnalyzerTests
{
    private const string Unsafe = """
        using System.Collections.Generic;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        static class Unsafe
        {
            static void Run(Tensor a, Tensor b, Tensor mask, IEnumerable<Parameter> parameters, long rows)
            {
                var x1 = a.mul(0.5);                                 // FT0001
                var x2 = a * 2.0;                                    // FT0002
                var x3 = a + b;                                      // FT0002
                var x4 = a.add(b);                                   // FT0002
                var x5 = a.clamp_min(1e-6);                          // FT0001
                a.sub_(b).pow_(2);                                   // FT0001
                var x6 = a.masked_fill(mask, -1e9);                  // FT0001
                var x7 = b / rows;                                   // FT0002
                var x8 = 1.0 / a;                                    // FT0002
                var s = 0.5.ToScalar();                              // FT0003
                var x9 = a.mul(s);
                var x10 = arange(rows, ScalarType.Int64);            // FT0001 FT0002
                Tensor x11 = 3.0;                                    // FT0001
                a += b;                                              // FT0002
                var x12 = a.ToDouble();                              // FT0002
                var adam = torch.optim.Adam(parameters, 0.01);       // FT0004
                var sgd = new TorchSharp.Modules.SGD(parameters, 0.1); // FT0004
            }
        }
        """;

    private const string Held = """
        using System;
        using TorchSharp;
        using static TorchSharp.torch;

        static class Held
        {
            static Tensor Run(Tensor a, Tensor b, Tensor mask, long rows)
            {
                using var half = 0.5.ToScalar();
                using var one = 1.ToScalar();
                using var floor = 1e-6.ToScalar();
                using (var fill = (-1e9).ToScalar())
                {
                    var filled = a.masked_fill(mask, fill);
                }
                using var start = 0L.ToScalar();
                using var stop = rows.ToScalar();
                var range = arange(start, stop, one, ScalarType.Int64);
                var products = a * b - a / b;
                var scaled = a * half;
                var sum = a.add(b, one);
                a.add_(b, one).mul_(half);
                a.sub_(b);
                var clamped = a.clamp_min(floor);
                var negated = -a;
                return products.mm(scaled.t()).addcdiv(sum, clamped, one);
            }
        }
        """;

    [Fact]
    public async Task Every_unsafe_form_is_reported_on_its_line_with_its_rule()
    {
        var diagnostics = await AnalyseAsync(Unsafe);
        var expected = Expected(Unsafe);
        var actual = diagnostics.GroupBy(d => d.Location.GetLineSpan().StartLinePosition.Line + 1)
            .ToDictionary(g => g.Key, g => g.Select(d => d.Id).Distinct().Order().ToArray());
        Assert.True(expected.Count >= 15, "the example lost its marked lines");
        foreach (var (line, ids) in expected)
            Assert.True(actual.TryGetValue(line, out var got) && got.SequenceEqual(ids),
                $"line {line}: expected {string.Join(" ", ids)}, got {(got is null ? "nothing" : string.Join(" ", got))}\n{Unsafe.Split('\n')[line - 1].Trim()}");
        var unexpected = actual.Keys.Except(expected.Keys).ToArray();
        Assert.True(unexpected.Length == 0, "reported on unmarked lines: " + string.Join(", ", unexpected));
        Assert.All(diagnostics, d => Assert.Equal(DiagnosticSeverity.Error, d.Severity));
    }

    [Fact]
    public async Task Scalars_held_by_using_and_tensor_only_operators_pass()
    {
        var diagnostics = await AnalyseAsync(Held);
        Assert.True(diagnostics.Length == 0, string.Join("\n", diagnostics.Select(d => d.ToString())));
    }

    [Fact]
    public async Task Code_without_TorchSharp_is_left_alone()
    {
        var diagnostics = await AnalyseAsync("static class Plain { static double Run(double x) => x * 2.0 + 1; }", withTorch: false);
        Assert.Empty(diagnostics);
    }

    [Fact]
    public void Every_shared_project_that_uses_TorchSharp_runs_the_check()
    {
        var root = RepoRoot();
        var projects = Directory.EnumerateFiles(Path.Combine(root, "shared"), "*.csproj", SearchOption.AllDirectories)
            .Select(f => (Path: f, Xml: XDocument.Load(f)))
            .Where(p => p.Xml.Descendants("PackageReference").Any(r => ((string?)r.Attribute("Include"))?.StartsWith("TorchSharp", StringComparison.Ordinal) == true))
            .ToArray();
        Assert.Contains(projects, p => p.Path.EndsWith("Federated.Learning.csproj", StringComparison.Ordinal));
        foreach (var (path, xml) in projects)
            Assert.True(xml.Descendants("ProjectReference").Any(r =>
                    ((string?)r.Attribute("Include"))?.EndsWith("Federated.Analyzers.csproj", StringComparison.Ordinal) == true
                    && (string?)r.Attribute("OutputItemType") == "Analyzer"),
                $"{Path.GetRelativePath(root, path)} uses TorchSharp but does not run Federated.Analyzers");
    }

    private static Dictionary<int, string[]> Expected(string source)
    {
        var lines = source.Split('\n');
        var expected = new Dictionary<int, string[]>();
        for (int i = 0; i < lines.Length; i++)
        {
            var marker = Marker().Match(lines[i]);
            if (marker.Success) expected[i + 1] = marker.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Order().ToArray();
        }
        return expected;
    }

    [GeneratedRegex(@"//\s*((?:FT\d{4}\s*)+)$")]
    private static partial Regex Marker();

    private static async Task<ImmutableArray<Diagnostic>> AnalyseAsync(string source, bool withTorch = true)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(p => MetadataReference.CreateFromFile(p)).ToList();
        if (withTorch) references.Add(MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, "TorchSharp.dll")));
        var compilation = CSharpCompilation.Create("Example", [CSharpSyntaxTree.ParseText(source)], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Disable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();
        Assert.True(errors.Length == 0, "the example does not compile:\n" + string.Join("\n", errors.Select(e => e.ToString())));
        return await compilation.WithAnalyzers([new TorchTemporaryAnalyzer()]).GetAnalyzerDiagnosticsAsync();
    }

    private static string RepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Federated.sln"))) return directory.FullName;
        throw new InvalidOperationException($"no Federated.sln above {AppContext.BaseDirectory}");
    }
}
