using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;

namespace Federated.Ckks.Benchmarks;

/// <summary>A short job (1 launch, 2 warm-ups, 7 measured iterations) so the suite fits in minutes on a shared VM.
/// Medians are reported because the machine is noisy.</summary>
public sealed class ShortConfig : ManualConfig
{
    public ShortConfig()
    {
        AddJob(Job.Default.WithStrategy(RunStrategy.Throughput).WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(7).WithId("short"));
        AddColumn(StatisticColumn.Median, StatisticColumn.Min);
        SummaryStyle = SummaryStyle.Default.WithTimeUnit(Perfolizer.Horology.TimeUnit.Microsecond);
    }
}
