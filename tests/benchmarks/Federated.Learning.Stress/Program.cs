using System.Diagnostics;
using Federated.Learning;
using Federated.Learning.Crypto;
using Federated.Learning.Model;
using Federated.Learning.Split;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

// The split-training step loop under a garbage-collector hammer: both party roles in this process (as the
// single-process runner and the quality tests run them), E and M stepping through InProcessSplitExchange, while
// other threads force collections, run finalizers and allocate. A native object freed by a finalizer while LibTorch
// still reads it aborts this process; a clean run exits 0 and prints its figures. Usage:
//   dotnet tests/benchmarks/Federated.Learning.Stress/bin/Release/net10.0/Federated.Learning.Stress.dll \
//     [--seconds 30] [--steps 0 (no limit)] [--pairs 1 (role pairs stepping on their own threads)] [--hammers 1]
//     [--batch 32] [--threads 1]
var settings = Settings.Parse(args);
TorchRuntime.Initialise(settings.Threads);
Console.WriteLine($"stress: {settings.Pairs} role pair(s), {settings.Hammers} GC hammer(s), batch {settings.Batch}, " +
                  $"torch threads {settings.Threads}, for {settings.Seconds} s{(settings.Steps > 0 ? $" or {settings.Steps} steps" : "")}");

var clock = Stopwatch.StartNew();
using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(settings.Seconds));
long steps = 0, hammerRounds = 0;
int gen0Before = GC.CollectionCount(0);
var hammers = Enumerable.Range(0, settings.Hammers).Select(h => new Thread(() =>
{
    var keep = new object[64];
    int i = 0;
    while (!stop.IsCancellationRequested)
    {
        // Allocation pressure (some of it survives a while) and forced full collections with finalizers run.
        for (int a = 0; a < 200; a++) keep[(i++) % keep.Length] = new byte[(a % 16 + 1) * 64];
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Interlocked.Increment(ref hammerRounds);
    }
}) { IsBackground = true, Name = $"gc-hammer-{h}" }).ToList();
hammers.ForEach(t => t.Start());

var failures = new List<Exception>();
var workers = Enumerable.Range(0, settings.Pairs).Select(p => new Thread(() =>
{
    try
    {
        using var world = new StressWorld(p);
        while (!stop.IsCancellationRequested)
        {
            var (e, m) = world.NewPair();
            using (e)
            using (m)
            {
                // A fresh pair every 100 steps also exercises construction, optimiser creation and disposal.
                for (int s = 0; s < 100 && !stop.IsCancellationRequested; s++)
                {
                    var (eb, mb) = world.Batch(settings.Batch, s);
                    InProcessSplitExchange.Step(e, m, eb, mb);
                    if (s % 25 == 24)
                        using (InProcessSplitExchange.Infer(e, m, eb, mb.UserCategorical, mb.UserKnown)) { }
                    if (Interlocked.Increment(ref steps) == settings.Steps) stop.Cancel();
                }
            }
        }
    }
    catch (Exception ex)
    {
        lock (failures) failures.Add(ex);
        stop.Cancel();
    }
}) { Name = $"pair-{p}" }).ToList();
workers.ForEach(t => t.Start());
workers.ForEach(t => t.Join());
stop.Cancel();
hammers.ForEach(t => t.Join());

Console.WriteLine($"stress: {steps} split steps in {clock.Elapsed.TotalSeconds:F1} s, {hammerRounds} forced collections, " +
                  $"{GC.CollectionCount(0) - gen0Before} gen-0 collections in all");
if (failures.Count > 0)
{
    foreach (var f in failures) Console.Error.WriteLine($"stress: FAILED: {f}");
    return 1;
}
Console.WriteLine("stress: ok");
return 0;

/// <summary>Small towers and a random catalog, like the protocol tests' models.</summary>
internal sealed class StressWorld : IDisposable
{
    private readonly ExternalTowerOptions _external;
    private readonly MusicTopOptions _top;
    private readonly SongCatalog _catalog;
    private readonly SplitTrainingOptions _job;
    private readonly Random _random;
    private ulong _pairs;

    public StressWorld(int seed)
    {
        _random = new Random(seed);
        _external = new ExternalTowerOptions
        {
            CategoricalCardinalities = new[] { 7, 5 }, EmbeddingWidth = 4, DenseWidth = 3, HiddenWidths = new[] { 16 }, OutputWidth = 8,
        };
        _top = new MusicTopOptions
        {
            InteractiveWidth = 6,
            Items = new ItemTowerOptions
            {
                SongCount = 40, IdEmbeddingWidth = 8, MetadataCardinalities = new[] { 4 }, MetadataEmbeddingWidth = 3,
                AudioWidth = 6, AudioHiddenWidth = 12, HiddenWidth = 16,
            },
            Users = new MusicUserOptions { CategoricalCardinalities = new[] { 6, 3 }, EmbeddingWidth = 4 },
            Temperature = 0.2,
        };
        _catalog = new SongCatalog(_top.Items,
            Enumerable.Range(0, 40).Select(_ => (long)_random.Next(4)).ToArray(),
            Enumerable.Range(0, 40 * 6).Select(_ => (float)(_random.NextDouble() * 2 - 1)).ToArray(),
            Enumerable.Range(0, 40).Select(s => 100.0 / (s + 1)).ToArray());
        _job = new SplitTrainingOptions
        {
            JobId = "stress", BottomWidth = 8, InteractiveWidth = 6, InteractiveLearningRate = 0.1, AlignedRows = 10_000,
            LabelDp = new LabelDpOptions { ClipNorm = 1.0, NoiseMultiplier = 1.0 },
            Insecure = InsecureAllowances.PlaintextReference,
        };
    }

    public (ExternalPartyRole E, MusicPartyRole M) NewPair()
    {
        ulong n = ++_pairs;
        var e = new ExternalPartyRole(_job, new ExternalBottomTower(_external), Adam,
            new PlaintextReferenceExternalSession(new PlaintextReferenceOptions { AcknowledgeInsecure = true, Seed = (int)n }), seed: 100 + n);
        var m = new MusicPartyRole(_job, new MusicTopModel(_top), _catalog, Adam,
            new PlaintextReferenceMusicSession(new PlaintextReferenceOptions { AcknowledgeInsecure = true, Seed = (int)n + 1 }), seed: 200 + n);
        InProcessSplitExchange.Setup(e, m);
        return (e, m);
    }

    private static optim.Optimizer Adam(IEnumerable<Parameter> parameters) => TorchOptimisers.Adam(parameters, 0.01);

    public (ExternalBatch External, MusicBatch Music) Batch(int rows, int seed)
    {
        var random = new Random(seed);
        var eCat = new long[rows * 2];
        for (int r = 0; r < rows; r++) { eCat[r * 2] = random.Next(7); eCat[r * 2 + 1] = random.Next(5); }
        var dense = Enumerable.Range(0, rows * 3).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var songs = Enumerable.Range(0, rows).Select(_ => (long)random.Next(40)).ToArray();
        var uCat = new long[rows * 2];
        for (int r = 0; r < rows; r++) { uCat[r * 2] = random.Next(6); uCat[r * 2 + 1] = random.Next(3); }
        var known = Enumerable.Range(0, rows).Select(_ => random.NextDouble() < 0.7).ToArray();
        return (new ExternalBatch(rows, eCat, dense), new MusicBatch(rows, songs, uCat, known));
    }

    public void Dispose() => _catalog.Dispose();
}

internal sealed record Settings(int Seconds, long Steps, int Pairs, int Hammers, int Batch, int Threads)
{
    public static Settings Parse(string[] args)
    {
        var s = new Settings(30, 0, 1, 1, 32, 1);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            int v = int.Parse(args[i + 1]);
            s = args[i] switch
            {
                "--seconds" => s with { Seconds = v },
                "--steps" => s with { Steps = v },
                "--pairs" => s with { Pairs = v },
                "--hammers" => s with { Hammers = v },
                "--batch" => s with { Batch = v },
                "--threads" => s with { Threads = v },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        return s;
    }
}
