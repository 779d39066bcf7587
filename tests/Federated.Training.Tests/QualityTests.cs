using Federated.Training.Experiment;
using Federated.Training.Tests.Support;
using Xunit.Abstractions;

namespace Federated.Training.Tests;

/// <summary>
/// Issue 7's quality bar on a small default-like world (the demo's song count, fractions and informativeness; fewer
/// users), every row of the results table through the same tables: encrypted federated HR@50 on held-out cold-start
/// users at least 1.5x M alone and at least 95% of centralised; the plaintext reference close to the encrypted run.
/// </summary>
public sealed class QualityTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _work = TestWorlds.NewFolder("quality");

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Encrypted_federated_recall_of_cold_start_users_beats_M_alone_and_approaches_centralised()
    {
        var result = await FederatedExperiment.RunAsync(new ExperimentOptions
        {
            WorkFolder = _work, World = TestWorlds.Quality, Training = TestWorlds.QualityJob("quality"),
        }, new Progress<string>(s => output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {s}")));
        var table = result.Table;
        output.WriteLine(table.ToText());
        foreach (var (name, run) in result.FederatedRuns)
            output.WriteLine($"{name}: {run.Music.Steps} steps; E {run.External.Timings}; M {run.Music.Timings}");

        double HitRate(string method) => table[method].Report[50].HitRate;
        double encrypted = HitRate("federated encrypted"), plaintext = HitRate("federated plaintext reference");
        double musicAlone = HitRate("M alone (no E features)"), centralised = HitRate("centralised");
        double popularity = HitRate("popularity"), oracle = HitRate("oracle");

        Assert.True(table.Rows.All(r => r.Report.Users >= 500), "the evaluation set is too small for the margins below");
        Assert.True(encrypted >= 1.5 * musicAlone, $"encrypted HR@50 {encrypted:F3} < 1.5 x M alone {musicAlone:F3}");
        Assert.True(encrypted >= 0.95 * centralised, $"encrypted HR@50 {encrypted:F3} < 95% of centralised {centralised:F3}");
        Assert.True(Math.Abs(encrypted - plaintext) <= 0.03, $"encrypted {encrypted:F3} and plaintext reference {plaintext:F3} differ by more than 0.03");
        Assert.True(encrypted > popularity && oracle > centralised, $"popularity {popularity:F3}, oracle {oracle:F3}");
        Assert.NotNull(table["federated encrypted"].Epsilon);
        Assert.Equal("", table["federated encrypted"].Notice);
        Assert.StartsWith("INSECURE", table["federated plaintext reference"].Notice);
    }
}
