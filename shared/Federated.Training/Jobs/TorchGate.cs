namespace Federated.Training.Jobs;

/// <summary>
/// Serialises the one piece of LibTorch work that shares process-wide state when both parties run in one process
/// (tests, the single-process demo): seeding torch's default generator and building a module from it
/// (<see cref="ModelShapes.Seeded{T}"/>), so each party's towers start from its own seed whatever the other party does.
/// The training and inference steps need no gate: every random draw in them has its own generator, and two models
/// step safely on two threads at once since no temporary TorchSharp Scalar reaches LibTorch any more (the corrupted
/// "alpha" scalars once blamed on concurrency were such temporaries, freed by their finalizer during the native call;
/// see Federated.Learning.TorchScalars and the stress command tests/benchmarks/Federated.Learning.Stress, which runs
/// two role pairs on two threads under a GC hammer).
/// </summary>
internal static class TorchGate
{
    private static readonly object Gate = new();

    public static T Run<T>(Func<T> work)
    {
        lock (Gate) return work();
    }
}
