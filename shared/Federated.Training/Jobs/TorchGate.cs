namespace Federated.Training.Jobs;

/// <summary>
/// Serialises LibTorch work of the two parties when both run in one process (tests, the single-process demo):
/// TorchSharp's process-wide state is not safe for two models stepping on two threads at once (seen as a corrupted
/// default "alpha" scalar in an integer add). The protocol alternates between the parties anyway, so little is lost;
/// in the three-process deployment each party has its own process and the gate is uncontended.
/// </summary>
internal static class TorchGate
{
    private static readonly object Gate = new();

    public static T Run<T>(Func<T> work)
    {
        lock (Gate) return work();
    }

    public static void Run(Action work)
    {
        lock (Gate) work();
    }
}
