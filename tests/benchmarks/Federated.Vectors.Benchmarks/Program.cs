using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Federated.Tests.Shared;
using Federated.Vectors;

// Figures-printing benchmark of the vector indexes (not part of `dotnet test`): for a clustered catalogue shaped like
// trained embeddings and for uniform random vectors, exact search and HNSW side by side in one run: build time,
// size on disk, resident-memory growth, single-query latency, batch throughput and recall against exact search.
//   dotnet run -c Release --project tests/benchmarks/Federated.Vectors.Benchmarks -- \
//     --n 1000000 --dim 64 --clusters 1000 --queries 1000 --k 100 --threads 2 [--m 16] [--ef-add 128]
//     [--ef 64,128,256,512] [--spread 0.5] [--datasets clustered,uniform] [--work DIR] [--target-p99-ms 2] [--target-recall 0.95]
var options = BenchOptions.Parse(args);
var inv = CultureInfo.InvariantCulture;
Console.WriteLine($"# Federated.Vectors benchmark, {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", inv)} UTC");
Console.WriteLine($"command: dotnet run -c Release --project tests/benchmarks/Federated.Vectors.Benchmarks -- {string.Join(' ', args)}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores ({Cpu()}), {TotalMemoryGiB():F0} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}");
Console.WriteLine($"load average at start: {LoadAverage()}");
Console.WriteLine($"settings: n={options.N:N0} dim={options.Dim} clusters={options.Clusters} spread={options.Spread} queries={options.Queries} k={options.K} " +
                  $"threads={options.Threads} M={options.M} expansion_add={options.EfAdd} expansion_search={string.Join('/', options.Ef)}");
Directory.CreateDirectory(options.Work);

var summaries = new List<string>();
foreach (var dataset in options.Datasets)
{
    var (items, queries) = Generate(dataset, options);
    Console.WriteLine();
    Console.WriteLine($"## {dataset}: {options.N:N0} x {options.Dim} items, {options.Queries:N0} queries, top {options.K}");
    Console.WriteLine();
    Console.WriteLine("| index | expansion_search | build s | disk MiB | RSS delta MiB | p50 ms | p99 ms | batch queries/s | recall@" + options.K + " |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    var ids = Enumerable.Range(0, options.N).Select(i => (long)i).ToArray();

    // Exact search: the reference answers (its batch run) and its own figures.
    var rssBefore = Rss();
    var watch = Stopwatch.StartNew();
    var exact = new ExactIndex<long>(options.Dim, VectorMetric.InnerProduct, options.N, options.Threads);
    exact.AddRange(ids, items);
    var exactBuild = watch.Elapsed.TotalSeconds;
    var exactRss = Rss() - rssBefore;
    var exactDisk = SaveSize(exact, Path.Combine(options.Work, $"{dataset}.exact"));
    watch.Restart();
    var truth = exact.SearchBatch(queries, options.K, options.Threads);
    var exactQps = options.Queries / watch.Elapsed.TotalSeconds;
    var (exactP50, exactP99) = Latency(exact, queries, options.Dim, options.K, options.ExactLatencyQueries);
    Console.WriteLine($"| exact | - | {exactBuild:F2} | {exactDisk:F0} | {exactRss:F0} | {exactP50:F2} | {exactP99:F2} | {exactQps:F0} | 1.000 |");

    // HNSW: one build, then each expansion_search on the same graph.
    rssBefore = Rss();
    watch.Restart();
    var hnsw = new HnswIndex<long>(options.Dim, VectorMetric.InnerProduct,
        new HnswOptions { Connectivity = options.M, ExpansionAdd = options.EfAdd, ExpansionSearch = options.Ef[0], Threads = options.Threads }, options.N);
    hnsw.AddRange(ids, items);
    var hnswBuild = watch.Elapsed.TotalSeconds;
    var hnswRss = Rss() - rssBefore;
    var hnswPath = Path.Combine(options.Work, $"{dataset}.hnsw");
    var hnswDisk = SaveSize(hnsw, hnswPath);
    var rows = new List<(int Ef, double P50, double P99, double Qps, double Recall)>();
    foreach (var ef in options.Ef)
    {
        hnsw.ExpansionSearch = ef;
        var (p50, p99) = Latency(hnsw, queries, options.Dim, options.K, options.Queries);
        watch.Restart();
        var found = hnsw.SearchBatch(queries, options.K, options.Threads);
        var qps = options.Queries / watch.Elapsed.TotalSeconds;
        var recall = Recall(found, truth, options.K);
        rows.Add((ef, p50, p99, qps, recall));
        var first = ef == options.Ef[0];
        Console.WriteLine($"| hnsw M={options.M} | {ef}{(ef < options.K ? $" (explores {options.K})" : "")} | {(first ? hnswBuild.ToString("F1", inv) : "")} | " +
                          $"{(first ? hnswDisk.ToString("F0", inv) : "")} | {(first ? hnswRss.ToString("F0", inv) : "")} | {p50:F3} | {p99:F3} | {qps:F0} | {recall:F3} |");
    }
    var acceleration = hnsw.Acceleration;
    var nativeMiB = hnsw.NativeMemoryBytes / 1048576.0;
    hnsw.Dispose();

    // The same file served from a memory map: what opening costs and what a search then costs (pages come in on demand).
    rssBefore = Rss();
    watch.Restart();
    using (var view = HnswIndex<long>.View(hnswPath, options.Threads, options.Ef[^1]))
    {
        var open = watch.Elapsed.TotalMilliseconds;
        var (p50, p99) = Latency(view, queries, options.Dim, options.K, options.Queries);
        Console.WriteLine($"| hnsw view (mmap) | {options.Ef[^1]} | open {open:F0} ms | (same file) | {Rss() - rssBefore:F0} | {p50:F3} | {p99:F3} | - | - |");
    }
    exact.Dispose();
    Console.WriteLine();
    Console.WriteLine($"HNSW kernel: {acceleration}; native index memory {nativeMiB:F0} MiB. Exact single-query latency over {Math.Min(options.ExactLatencyQueries, options.Queries)} queries.");
    var meeting = rows.Where(r => r.Recall >= options.TargetRecall && r.P99 <= options.TargetP99Ms).Select(r => r.Ef.ToString(inv)).ToArray();
    var line = $"{dataset}: expansion_search reaching recall@{options.K} >= {options.TargetRecall} at p99 <= {options.TargetP99Ms} ms: " +
               (meeting.Length > 0 ? string.Join(", ", meeting) : "none of " + string.Join(", ", options.Ef));
    Console.WriteLine(line);
    summaries.Add(line);
    File.Delete(Path.Combine(options.Work, $"{dataset}.exact"));
    File.Delete(hnswPath);
}

Console.WriteLine();
foreach (var line in summaries) Console.WriteLine(line);
Console.WriteLine($"load average at end: {LoadAverage()}");

static (float[] Items, float[] Queries) Generate(string dataset, BenchOptions options)
{
    if (dataset == "clustered")
    {
        var mixture = new SyntheticVectors(options.Clusters, options.Dim, options.Spread, options.Seed);
        return (mixture.Sample(options.N, options.Seed + 1), mixture.Sample(options.Queries, options.Seed + 2));
    }
    return (SyntheticVectors.Uniform(options.N, options.Dim, options.Seed + 3), SyntheticVectors.Uniform(options.Queries, options.Dim, options.Seed + 4));
}

static (double P50, double P99) Latency(IVectorIndex<long> index, float[] queries, int dim, int k, int count)
{
    count = Math.Min(count, queries.Length / dim);
    for (var q = 0; q < Math.Min(20, count); q++) index.Search(queries.AsSpan(q * dim, dim), k);
    var times = new double[count];
    for (var q = 0; q < count; q++)
    {
        var start = Stopwatch.GetTimestamp();
        index.Search(queries.AsSpan(q * dim, dim), k);
        times[q] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
    Array.Sort(times);
    return (Rank(times, 0.50), Rank(times, 0.99));
}

static double Rank(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

static double Recall(VectorHit<long>[][] found, VectorHit<long>[][] truth, int k)
{
    double sum = 0;
    for (var q = 0; q < truth.Length; q++)
    {
        var expected = truth[q].Select(h => h.Id).ToHashSet();
        sum += found[q].Count(h => expected.Contains(h.Id)) / (double)k;
    }
    return sum / truth.Length;
}

static double SaveSize(IVectorIndex<long> index, string path)
{
    index.Save(path);
    return new FileInfo(path).Length / 1048576.0;
}

static double Rss()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    return double.NaN;
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static string Cpu() =>
    File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
        : RuntimeInformation.ProcessArchitecture.ToString();

static double TotalMemoryGiB() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1073741824.0;

internal sealed record BenchOptions
{
    public int N { get; init; } = 100_000;
    public int Dim { get; init; } = 64;
    public int Clusters { get; init; } = 1000;
    public double Spread { get; init; } = 0.5;
    public int Queries { get; init; } = 1000;
    public int K { get; init; } = 100;
    public int Threads { get; init; } = 2;
    public int M { get; init; } = 16;
    public int EfAdd { get; init; } = 128;
    public int[] Ef { get; init; } = [64, 128, 256, 512];
    public int ExactLatencyQueries { get; init; } = 1000;
    public string[] Datasets { get; init; } = ["clustered", "uniform"];
    public int Seed { get; init; } = 1;
    public double TargetP99Ms { get; init; } = 2.0;
    public double TargetRecall { get; init; } = 0.95;
    public string Work { get; init; } = Path.Combine(Path.GetTempPath(), "federated-vectors-bench");

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        var inv = CultureInfo.InvariantCulture;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Length) throw new ArgumentException($"{name} needs a value");
            var value = args[++i];
            o = name switch
            {
                "--n" => o with { N = Positive(name, int.Parse(value, inv)) },
                "--dim" => o with { Dim = Positive(name, int.Parse(value, inv)) },
                "--clusters" => o with { Clusters = Positive(name, int.Parse(value, inv)) },
                "--spread" => o with { Spread = double.Parse(value, inv) },
                "--queries" => o with { Queries = Positive(name, int.Parse(value, inv)) },
                "--k" => o with { K = Positive(name, int.Parse(value, inv)) },
                "--threads" => o with { Threads = Positive(name, int.Parse(value, inv)) },
                "--m" => o with { M = Positive(name, int.Parse(value, inv)) },
                "--ef-add" => o with { EfAdd = Positive(name, int.Parse(value, inv)) },
                "--ef" => o with { Ef = value.Split(',').Select(v => Positive(name, int.Parse(v, inv))).ToArray() },
                "--exact-latency-queries" => o with { ExactLatencyQueries = Positive(name, int.Parse(value, inv)) },
                "--datasets" => o with { Datasets = value.Split(',') },
                "--seed" => o with { Seed = int.Parse(value, inv) },
                "--target-p99-ms" => o with { TargetP99Ms = double.Parse(value, inv) },
                "--target-recall" => o with { TargetRecall = double.Parse(value, inv) },
                "--work" => o with { Work = value },
                _ => throw new ArgumentException($"unknown option {name}; see the header of Program.cs"),
            };
        }
        foreach (var d in o.Datasets)
            if (d is not ("clustered" or "uniform"))
                throw new ArgumentException($"unknown dataset '{d}'; the datasets are clustered and uniform");
        if (o.K > o.N) throw new ArgumentException($"--k {o.K} exceeds --n {o.N}");
        return o;
    }

    private static int Positive(string name, int value) =>
        value > 0 ? value : throw new ArgumentException($"{name} must be at least 1, not {value}");
}
