using Federated.Core.Jobs;
using Federated.Learning.Split;
using Federated.Training.Checkpoints;
using Federated.Experiments;
using Federated.Training.Jobs;
using Federated.Training.Tests.Support;
using Xunit.Abstractions;

namespace Federated.Training.Tests;

/// <summary>
/// A job interrupted in the middle of training (cancellation at both parties, as a crash would stop them) resumes
/// from the newest checkpoint both parties hold and reaches the result of an uninterrupted run.
/// </summary>
public sealed class ResumeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _work = TestWorlds.NewFolder("resume");

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Theory]
    [InlineData(FederationMode.PlaintextReference, 1e-6)]
    [InlineData(FederationMode.Encrypted, 2e-2)]
    public async Task An_interrupted_run_resumes_from_its_last_checkpoint_and_matches_the_uninterrupted_run(FederationMode mode, double weightTolerance)
    {
        var world = await TestWorlds.GenerateAsync(TestWorlds.Small with { Users = 1_500, Songs = 500 }, _work);
        var harness = await EvaluationHarness.ForSyntheticColdUsersAsync(world);
        var options = TestWorlds.Job($"resume-{mode}") with
        {
            Epochs = 4, CheckpointEverySteps = 4, Mode = mode,
            // Small widths keep the CKKS steps cheap: this test is about state, not quality.
            Model = new TrainingModelOptions { BottomWidth = 4, InteractiveWidth = 4, MusicPretrainEpochs = 1 },
            // The resumed run is compared with an uninterrupted one in another folder, so both draw from one fixed seed.
            Insecure = InsecureAllowances.FixedSeed | (mode == FederationMode.PlaintextReference ? InsecureAllowances.PlaintextReference : InsecureAllowances.None),
        };

        // Interrupt both parties once M has finished step 10 (checkpoints exist at 4 and 8).
        var jobs = Path.Combine(_work, "interrupted");
        using var stop = new CancellationTokenSource();
        var progress = new SyncProgress<TrainingProgress>(p =>
        {
            if (p.Party == MusicPartyJob.Party && p.Phase == "training" && p.Step == 10) stop.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            FederatedExperiment.RunFederatedInProcessAsync(world, jobs, options, harness.UsersToRank, 11, 22, progress, stop.Token));
        var eSteps = new CheckpointStore(Path.Combine(jobs, "external"), RoundNumber.First, options.CheckpointsKept).AvailableSteps();
        var mSteps = new CheckpointStore(Path.Combine(jobs, "music"), RoundNumber.First, options.CheckpointsKept).AvailableSteps();
        output.WriteLine($"checkpoints after the interruption: E [{string.Join(", ", eSteps)}], M [{string.Join(", ", mSteps)}]");
        Assert.Contains(8UL, eSteps);
        Assert.Contains(8UL, mSteps);
        Assert.False(File.Exists(Path.Combine(jobs, "music", "models", "r1", "music-top.bin")), "the interrupted run should not have finished");

        // The uninterrupted twin: the same alignment (PSI draws fresh keys and seed shares, so a new PSI would
        // order the batches differently), no checkpoints, so it trains from step 0.
        var straightJobs = Path.Combine(_work, "straight");
        CopyDirectory(jobs, straightJobs);
        foreach (var party in new[] { "external", "music" })
            Directory.Delete(Path.Combine(straightJobs, party, "checkpoints"), recursive: true);
        var straight = await FederatedExperiment.RunFederatedInProcessAsync(world, straightJobs, options, harness.UsersToRank, 11, 22);
        Assert.Equal(0UL, straight.Music.ResumedFromStep);
        Assert.True(straight.Music.Steps >= 12, $"the schedule has only {straight.Music.Steps} steps");

        var resumed = await FederatedExperiment.RunFederatedInProcessAsync(world, jobs, options, harness.UsersToRank, 11, 22);
        Assert.Equal(8UL, resumed.Music.ResumedFromStep);
        Assert.Equal(8UL, resumed.External.ResumedFromStep);

        // The interactive weight W = W_M + A after training (the parties' halves differ by their masks, W does not).
        double worst = 0, scale = 0;
        var wStraight = Weight(straightJobs);
        var wResumed = Weight(jobs);
        for (int i = 0; i < wStraight.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(wStraight[i] - wResumed[i]));
            scale = Math.Max(scale, Math.Abs(wStraight[i]));
        }
        var a = harness.Score("straight", straight.Music.Rankings);
        var b = harness.Score("resumed", resumed.Music.Rankings);
        output.WriteLine($"{mode}: max |ΔW| {worst:E2} (max |W| {scale:F3}); {a}; {b}; ε {straight.Music.Epsilon:F4} vs {resumed.Music.Epsilon:F4}");
        Assert.True(worst <= weightTolerance * scale, $"W after the resumed run differs by {worst:E2} (scale {scale:F3})");
        Assert.Equal(straight.Music.Epsilon!.Value, resumed.Music.Epsilon!.Value, 9);
        foreach (var k in new[] { 10, 50, 100 })
            Assert.True(Math.Abs(a[k].HitRate - b[k].HitRate) <= (mode == FederationMode.PlaintextReference ? 1e-9 : 0.03),
                $"HR@{k}: {a[k].HitRate:F4} uninterrupted vs {b[k].HitRate:F4} resumed");
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to));
    }

    private static double[] Weight(string jobs)
    {
        var a = Federated.Learning.Persistence.StateFiles.ReadTensor(Path.Combine(jobs, "external", "models", "r1", "weight-half-A.bin")).Values;
        var m = Federated.Learning.Persistence.StateFiles.ReadTensor(Path.Combine(jobs, "music", "models", "r1", "weight-half-WM.bin")).Values;
        return a.Zip(m, (x, y) => x + y).ToArray();
    }
}
