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
        var configs = (Environment.GetEnvironmentVariable("EX_CONFIGS") ?? "12:0.5:0.005:256:32:32").Split(';');
        foreach (var config in configs)
        {
            var p = config.Split(':');
            var t = TestWorlds.Job("explore" + Guid.NewGuid().ToString("N")[..6]);
            t = t with
            {
                Epochs = int.Parse(p[0]), LabelDp = new() { ClipNorm = p.Length > 9 ? double.Parse(p[9]) : 1, NoiseMultiplier = double.Parse(p[1]) },
                BatchSize = int.Parse(p[3]),
                Model = t.Model with { TowerLearningRate = double.Parse(p[2]), TopLearningRate = double.Parse(p[2]), BottomWidth = int.Parse(p[4]), InteractiveWidth = int.Parse(p[5]),
                    Temperature = p.Length > 6 ? double.Parse(p[6]) : 0.1, InteractiveLearningRate = p.Length > 7 ? double.Parse(p[7]) : 0.5 },
                MusicUserFeatureDropout = p.Length > 8 ? double.Parse(p[8]) : 0.5,
            };
            var result = await FederatedExperiment.RunAsync(new ExperimentOptions
            {
                WorkFolder = folder, World = TestWorlds.Small with { Users = int.Parse(Environment.GetEnvironmentVariable("EX_USERS") ?? "4000"), Songs = int.Parse(Environment.GetEnvironmentVariable("EX_SONGS") ?? "3000") },
                Training = t,
                Methods = (ExperimentMethods)int.Parse(Environment.GetEnvironmentVariable("EX_METHODS") ?? "63"),
            });
            output.WriteLine($"{config}: " + string.Join("  ", result.Table.Rows.Select(r => $"{r.Method} {r.Report[50].HitRate:F3} ({r.WallTime.TotalSeconds:0}s)")) + $" eps {result.Table.Rows.FirstOrDefault(r => r.Epsilon is not null)?.Epsilon:F1}"
                + string.Concat(result.FederatedRuns.Select(r => $" | {r.Key}: {r.Value.Music.Steps} steps, M {r.Value.Music.Timings}")));
        }
    }
}
