using Federated.Learning.Split;
using Federated.Training.Checkpoints;
using Federated.Experiments;
using Federated.Training.Tests.Support;
using Xunit.Abstractions;

namespace Federated.Training.Tests;

/// <summary>
/// The required quality on a small default-like world (the demo's song count, fractions, informativeness and
/// history lengths; fewer users), every row of the results table through the same tables and the same harness.
/// The full 480-step schedule runs here encrypted (CKKS, about two minutes on two cores) and with the plaintext
/// reference; the threshold is asserted on the encrypted row. A short twin run checks that encrypted training tracks the
/// plaintext reference step for step (same alignment, seeds and label-DP noise).
/// </summary>
public sealed class QualityTests : IClassFixture<QualityTests.World>
{
    public sealed class World : IAsyncLifetime
    {
        public string Folder { get; } = TestWorlds.NewFolder("quality");
        public string Path { get; private set; } = "";

        public async Task InitializeAsync() => Path = await TestWorlds.GenerateAsync(TestWorlds.Quality, Folder);

        public Task DisposeAsync()
        {
            Directory.Delete(Folder, recursive: true);
            return Task.CompletedTask;
        }
    }

    private readonly World _world;
    private readonly ITestOutputHelper _output;

    public QualityTests(World world, ITestOutputHelper output)
    {
        _world = world;
        _output = output;
    }

    [Fact]
    public async Task Federated_recall_of_cold_start_users_is_at_least_1_5x_M_alone_and_95_percent_of_centralised()
    {
        var work = Path.Combine(_world.Folder, "quality");
        Directory.CreateDirectory(work);
        CopyWorld(work);
        var result = await FederatedExperiment.RunAsync(new ExperimentOptions
        {
            WorkFolder = work, World = TestWorlds.Quality, Training = TestWorlds.QualityJob("quality"),
            Methods = ExperimentMethods.All,
        }, new Progress<string>(s => _output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {s}")));
        var table = result.Table;
        _output.WriteLine(table.ToText());

        double HitRate(string method) => table[method].Report[50].HitRate;
        double federated = HitRate("federated encrypted"), musicAlone = HitRate("M alone (no E features)");
        double centralised = HitRate("centralised"), popularity = HitRate("popularity"), oracle = HitRate("oracle");
        Assert.True(table.Rows.All(r => r.Report.Users >= 500), "the evaluation set is too small for the margins below");
        Assert.True(federated >= 1.5 * musicAlone, $"federated HR@50 {federated:F3} < 1.5 x M alone {musicAlone:F3}");
        // Federated ≈ centralised: the two differ on a few hundred users by about the noise of HR@50 itself, so the
        // claim is tested with a paired bootstrap over users (the same resampled users for both rows): it fails when
        // federated is below 95% of centralised with 95% confidence, not when one draw lands a hair under the line.
        var harness = await EvaluationHarness.ForSyntheticColdUsersAsync(_world.Path);
        var (low, high) = PairedInterval(result.Rankings["federated encrypted"], result.Rankings["centralised"], harness.Relevant, 0.95);
        _output.WriteLine($"federated - 0.95 x centralised, HR@50: {federated - 0.95 * centralised:F3}, 95% paired bootstrap [{low:F3}, {high:F3}]");
        Assert.True(high >= 0, $"federated HR@50 {federated:F3} is below 95% of centralised {centralised:F3} with 95% confidence (interval of the difference [{low:F3}, {high:F3}])");
        Assert.True(federated > popularity && oracle > centralised, $"popularity {popularity:F3}, oracle {oracle:F3}");
        Assert.True(table["federated plaintext reference"].Epsilon > 0);
        Assert.StartsWith("INSECURE", table["federated plaintext reference"].Notice);
        Assert.True(table["federated encrypted"].Epsilon > 0);
        Assert.DoesNotContain("INSECURE", table["federated encrypted"].Notice ?? "");
    }

    /// <summary>95% percentile interval of HR@50(a) - factor · HR@50(b) over users resampled with replacement (seeded).</summary>
    private static (double Low, double High) PairedInterval(IReadOnlyDictionary<string, IReadOnlyList<string>> a, IReadOnlyDictionary<string, IReadOnlyList<string>> b,
        IReadOnlyDictionary<string, HashSet<string>> relevant, double factor)
    {
        double Hit(IReadOnlyDictionary<string, IReadOnlyList<string>> lists, string user, HashSet<string> truth) =>
            lists.TryGetValue(user, out var list) && list.Take(50).Any(truth.Contains) ? 1 : 0;
        var diffs = relevant.Where(p => p.Value.Count > 0).Select(p => Hit(a, p.Key, p.Value) - factor * Hit(b, p.Key, p.Value)).ToArray();
        var random = new Random(20261207);
        var means = new double[2000];
        for (int r = 0; r < means.Length; r++)
        {
            double sum = 0;
            for (int i = 0; i < diffs.Length; i++) sum += diffs[random.Next(diffs.Length)];
            means[r] = sum / diffs.Length;
        }
        Array.Sort(means);
        return (means[(int)(0.025 * means.Length)], means[(int)(0.975 * means.Length) - 1]);
    }

    [Fact]
    public async Task Encrypted_training_tracks_the_plaintext_reference_within_the_ckks_error()
    {
        var harness = await EvaluationHarness.ForSyntheticColdUsersAsync(_world.Path);
        // One epoch (6 steps) with small widths; the label-DP noise is on and equal in both runs (a fixed seed), so
        // the runs differ only by the CKKS error (flooding).
        var options = TestWorlds.Job("track") with
        {
            Epochs = 1, BatchSize = 512, CheckpointEverySteps = 0, Insecure = InsecureAllowances.FixedSeed,
            Model = new TrainingModelOptions { BottomWidth = 8, InteractiveWidth = 8, MusicPretrainEpochs = 2 },
        };
        var plain = options with { Mode = FederationMode.PlaintextReference, Insecure = InsecureAllowances.PlaintextReference | InsecureAllowances.FixedSeed };
        var jobs = Path.Combine(_world.Folder, "track");
        var p = await FederatedExperiment.RunFederatedInProcessAsync(_world.Path, Path.Combine(jobs, "plain"), plain, harness.UsersToRank, 5, 6);
        // The same alignment (a new PSI would draw fresh keys and seed shares, so another batch order).
        CopyDirectory(Path.Combine(jobs, "plain"), Path.Combine(jobs, "ckks"));
        foreach (var party in new[] { "external", "music" })
            foreach (var state in new[] { "checkpoints", "models" })
                Directory.Delete(Path.Combine(jobs, "ckks", party, state), recursive: true);
        var e = await FederatedExperiment.RunFederatedInProcessAsync(_world.Path, Path.Combine(jobs, "ckks"), options, harness.UsersToRank, 5, 6);

        var wPlain = Weight(Path.Combine(jobs, "plain"));
        var wCkks = Weight(Path.Combine(jobs, "ckks"));
        double worst = wPlain.Zip(wCkks, (a, b) => Math.Abs(a - b)).Max(), scale = wPlain.Max(Math.Abs);
        var a = harness.Score("plaintext", p.Music.Rankings);
        var b = harness.Score("encrypted", e.Music.Rankings);
        double overlap = p.Music.Rankings.Average(kv => e.Music.Rankings[kv.Key].Take(50).Intersect(kv.Value.Take(50)).Count() / 50.0);
        _output.WriteLine($"{e.Music.Steps} steps; max |ΔW| {worst:E2} (max |W| {scale:F3}); mean top-50 overlap {overlap:P1}");
        _output.WriteLine($"{a}\n{b}\nencrypted timings: E {e.External.Timings}; M {e.Music.Timings}");
        Assert.Equal(FederationMode.Encrypted, e.Music.Mode);
        Assert.True(worst > 0, "the encrypted run equals the plaintext one bit for bit: was it encrypted?");
        Assert.True(worst <= 1e-3 * scale, $"W differs by {worst:E2} (scale {scale:F3})");
        Assert.True(overlap >= 0.8, $"the encrypted and plaintext top-50 lists share only {overlap:P1}");
        // docs/protocol.md §5.1: the recall metrics agree within 0.5 percentage points at every cut-off (one of the 606
        // users changing its hit moves HR by 0.17 points).
        foreach (var k in new[] { 10, 50, 100 })
        {
            Assert.True(Math.Abs(a[k].HitRate - b[k].HitRate) <= 0.005, $"HR@{k}: plaintext {a[k].HitRate:F4}, encrypted {b[k].HitRate:F4}");
            Assert.True(Math.Abs(a[k].Recall - b[k].Recall) <= 0.005, $"Recall@{k}: plaintext {a[k].Recall:F4}, encrypted {b[k].Recall:F4}");
        }
        Assert.Equal(p.Music.Epsilon!.Value, e.Music.Epsilon!.Value, 9);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to));
    }

    private void CopyWorld(string work)
    {
        var to = Path.Combine(work, "world");
        foreach (var dir in Directory.GetDirectories(_world.Path, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(_world.Path, to));
        foreach (var file in Directory.GetFiles(_world.Path, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(_world.Path, to), overwrite: true);
    }

    private static double[] Weight(string jobs)
    {
        var a = Federated.Learning.Persistence.StateFiles.ReadTensor(Path.Combine(jobs, "external", "models", "r1", "weight-half-A.bin")).Values;
        var m = Federated.Learning.Persistence.StateFiles.ReadTensor(Path.Combine(jobs, "music", "models", "r1", "weight-half-WM.bin")).Values;
        return a.Zip(m, (x, y) => x + y).ToArray();
    }
}
