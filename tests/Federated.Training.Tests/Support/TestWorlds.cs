using Federated.Core.Jobs;
using Federated.Synthetic;
using Federated.Experiments;

namespace Federated.Training.Tests.Support;

/// <summary>Small worlds and job settings that keep the suite within minutes on two busy cores.</summary>
internal static class TestWorlds
{
    /// <summary>A small default-like world: the demo's fractions and informativeness, fewer users and songs.</summary>
    public static SyntheticWorldOptions Small => new() { Users = 3_000, Songs = 800, InteractionsPerUser = 30, Seed = 7 };

    /// <summary>The quality test's world: the demo's songs, fractions, informativeness and history lengths; fewer users.</summary>
    public static SyntheticWorldOptions Quality => new() { Users = 6_000, Songs = 5_000, Seed = 7 };

    /// <summary>The quality test's job: the demo settings (label DP on).</summary>
    public static TrainingJobOptions QualityJob(string id) => TrainingJobOptions.Demo(new TrainingJobName(id)) with { TorchThreads = 2, CheckpointEverySteps = 100 };

    public static TrainingJobOptions Job(string id) => new()
    {
        Job = new TrainingJobName(id),
        Epochs = 12,
        BatchSize = 256,
        CheckpointEverySteps = 10,
        TorchThreads = 2,
        MessageTimeout = TimeSpan.FromMinutes(5),
    };

    /// <summary>A fresh folder under the system temp folder, removed by the caller's Dispose.</summary>
    public static string NewFolder(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), "federated-training-tests", $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);
        Directory.CreateDirectory(path);
        return path;
    }

    public static async Task<string> GenerateAsync(SyntheticWorldOptions world, string folder)
    {
        var path = Path.Combine(folder, "world");
        await SyntheticWorld.GenerateAsync(world, path);
        return path;
    }
}
