using System.Reflection;
using Federated.Learning.Model;
using Federated.Learning.Split;
using TorchSharp;
using static TorchSharp.torch;

namespace Federated.Training.Checkpoints;

/// <summary>
/// STOPGAP until Federated.Learning's roles export and import their own state: reaches the private state of
/// <see cref="ExternalPartyRole"/> and <see cref="MusicPartyRole"/> (weight half, tower optimiser, random
/// generators, step counters, label-DP ledger) by field name, for checkpoints and for the evaluation forward pass.
/// Every field is looked up once, and a missing or retyped field fails with a message naming it (a test checks
/// them), so a refactor of the roles breaks loudly rather than silently. The state never leaves the owning party.
/// </summary>
internal static class RoleStateAccess
{
    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic;

    private static FieldInfo Field(Type type, string name, Type expected)
    {
        var field = type.GetField(name, Instance)
            ?? throw new MissingFieldException($"{type.Name} has no field '{name}' (Federated.Training.Checkpoints.RoleStateAccess needs it; update both together)");
        if (!expected.IsAssignableFrom(field.FieldType))
            throw new MissingFieldException($"{type.Name}.{name} is a {field.FieldType.Name}, expected {expected.Name}");
        return field;
    }

    private static FieldInfo AutoProperty(Type type, string property, Type expected) => Field(type, $"<{property}>k__BackingField", expected);

    internal static class External
    {
        private static readonly FieldInfo WeightHalfField = Field(typeof(ExternalPartyRole), "_weightHalf", typeof(Tensor));
        private static readonly FieldInfo OptimiserField = Field(typeof(ExternalPartyRole), "_optimiser", typeof(optim.Optimizer));
        private static readonly FieldInfo GeneratorField = Field(typeof(ExternalPartyRole), "_generator", typeof(Generator));
        private static readonly FieldInfo StepField = Field(typeof(ExternalPartyRole), "_step", typeof(ulong));
        private static readonly FieldInfo CompletedField = AutoProperty(typeof(ExternalPartyRole), nameof(ExternalPartyRole.CompletedSteps), typeof(ulong));

        public static Tensor WeightHalf(ExternalPartyRole role) => (Tensor)WeightHalfField.GetValue(role)!;
        public static optim.Optimizer Optimiser(ExternalPartyRole role) => (optim.Optimizer)OptimiserField.GetValue(role)!;
        public static Generator Generator(ExternalPartyRole role) => (Generator)GeneratorField.GetValue(role)!;

        public static void SetStep(ExternalPartyRole role, ulong step)
        {
            StepField.SetValue(role, step);
            CompletedField.SetValue(role, step);
        }
    }

    internal static class Music
    {
        private static readonly FieldInfo WeightHalfField = Field(typeof(MusicPartyRole), "_weightHalf", typeof(Tensor));
        private static readonly FieldInfo OptimiserField = Field(typeof(MusicPartyRole), "_optimiser", typeof(optim.Optimizer));
        private static readonly FieldInfo GeneratorField = Field(typeof(MusicPartyRole), "_generator", typeof(Generator));
        private static readonly FieldInfo NegativeSamplerField = Field(typeof(MusicPartyRole), "_negativeSampler", typeof(Generator));
        private static readonly FieldInfo LabelDpField = Field(typeof(MusicPartyRole), "_labelDp", typeof(LabelDpMechanism));
        private static readonly FieldInfo StepField = Field(typeof(MusicPartyRole), "_step", typeof(ulong));
        private static readonly FieldInfo CompletedField = AutoProperty(typeof(MusicPartyRole), nameof(MusicPartyRole.CompletedSteps), typeof(ulong));
        private static readonly FieldInfo DpGeneratorField = Field(typeof(LabelDpMechanism), "_generator", typeof(Generator));
        private static readonly FieldInfo DpComposedField = Field(typeof(LabelDpMechanism), "_composedRdp", typeof(double[]));
        private static readonly FieldInfo DpStepsField = AutoProperty(typeof(LabelDpMechanism), nameof(LabelDpMechanism.Steps), typeof(long));

        public static Tensor WeightHalf(MusicPartyRole role) => (Tensor)WeightHalfField.GetValue(role)!;
        public static optim.Optimizer Optimiser(MusicPartyRole role) => (optim.Optimizer)OptimiserField.GetValue(role)!;
        public static Generator Generator(MusicPartyRole role) => (Generator)GeneratorField.GetValue(role)!;
        public static Generator NegativeSampler(MusicPartyRole role) => (Generator)NegativeSamplerField.GetValue(role)!;
        private static LabelDpMechanism LabelDp(MusicPartyRole role) => (LabelDpMechanism)LabelDpField.GetValue(role)!;
        public static Generator LabelDpGenerator(MusicPartyRole role) => (Generator)DpGeneratorField.GetValue(LabelDp(role))!;

        /// <summary>The label-DP ledger: steps recorded and the composed RDP per order.</summary>
        public static (long Steps, double[] ComposedRdp) Ledger(MusicPartyRole role)
        {
            var dp = LabelDp(role);
            return ((long)DpStepsField.GetValue(dp)!, (double[])((double[])DpComposedField.GetValue(dp)!).Clone());
        }

        public static void RestoreLedger(MusicPartyRole role, long steps, double[] composedRdp)
        {
            var dp = LabelDp(role);
            var target = (double[])DpComposedField.GetValue(dp)!;
            if (target.Length != composedRdp.Length)
                throw new InvalidDataException($"checkpoint holds {composedRdp.Length} RDP orders, the accountant uses {target.Length}");
            composedRdp.CopyTo(target, 0);
            DpStepsField.SetValue(dp, steps);
        }

        public static void SetStep(MusicPartyRole role, ulong step)
        {
            StepField.SetValue(role, step);
            CompletedField.SetValue(role, step);
        }
    }

    internal static class Top
    {
        private static readonly FieldInfo SongSeenField = Field(typeof(MusicTopModel), "_songSeen", typeof(bool[]));

        /// <summary>The songs already past their audio initialisation (M's item-tower state beside its parameters).</summary>
        public static bool[] SongSeen(MusicTopModel top) => (bool[])SongSeenField.GetValue(top)!;
    }

    /// <summary>Touches every field, so a test proves the lookups still match the roles.</summary>
    internal static void CheckAll()
    {
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(External).TypeHandle);
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Music).TypeHandle);
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Top).TypeHandle);
    }
}
