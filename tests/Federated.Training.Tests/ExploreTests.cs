using Federated.Training.Experiment;
using Federated.Training.Tests.Support;
using Xunit.Abstractions;

namespace Federated.Training.Tests;

public class ExploreTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Explore()
    {
        var folder = TestWorlds.NewFolder("explore");
        var result = await FederatedExperiment.RunAsync(new ExperimentOptions
        {
            WorkFolder = folder, World = TestWorlds.Small, Training = TestWorlds.Job("explore"),
            Methods = ExperimentMethods.All & ~ExperimentMethods.FederatedEncrypted,
        }, new Progress<string>(s => output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {s}")));
        output.WriteLine(result.Table.ToText());
        foreach (var (name, run) in result.FederatedRuns) output.WriteLine($"{name}: E {run.External.Timings}; M {run.Music.Timings}; aligned {run.Music.AlignedRows}, eval {run.Music.EvaluationRowsAligned}");
    }
}
