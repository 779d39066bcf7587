using System.Diagnostics;
using Federated.Learning;
using Federated.Learning.Crypto;
using Federated.Learning.Crypto.Ckks;
using Federated.Learning.Model;
using Federated.Learning.Split;
using TorchSharp;
using static TorchSharp.torch;

// Figures for the split-training step on the same shapes: samples/s of the centralised step, the split step with the
// plaintext reference and with CKKS, the interactive layer's crypto flow alone, and the bytes per sample that cross
// the boundary. Usage:
//   dotnet run -c Release --project tests/benchmarks/Federated.Learning.Benchmarks -- \
//     [--batch 4096] [--k 128] [--d 64] [--steps 5] [--threads 2] [--plain 1] [--ckks 1]
//   ... -- --quality 160    (recall of plaintext vs CKKS vs centralised training on the synthetic taste world)
var settings = Settings.Parse(args);
TorchRuntime.Initialise(settings.Threads);
if (settings.Quality > 0)
{
    Federated.Learning.Benchmarks.QualityComparison.Run(settings.Quality);
    return;
}
Console.WriteLine($"split-training step, k={settings.K}, d={settings.D}, batch={settings.Batch}, torch threads={settings.Threads}, " +
                  $"{settings.Steps} timed steps after 1 warm-up step (median); {Environment.ProcessorCount} cores visible");

const int songs = 10_000;
var externalOptions = new ExternalTowerOptions
{
    CategoricalCardinalities = new[] { 100, 50, 20, 1000 }, EmbeddingWidth = 16, DenseWidth = 32,
    HiddenWidths = new[] { 256 }, OutputWidth = settings.K,
};
var items = new ItemTowerOptions
{
    SongCount = songs, IdEmbeddingWidth = 32, MetadataCardinalities = new[] { 30, 200 }, MetadataEmbeddingWidth = 8,
    AudioWidth = 84, AudioHiddenWidth = 64, HiddenWidth = 128,
};
var topOptions = new MusicTopOptions
{
    InteractiveWidth = settings.D, Items = items,
    Users = new MusicUserOptions { CategoricalCardinalities = new[] { 50, 20 } },
};
var random = new Random(1);
using var catalog = new SongCatalog(items,
    Enumerable.Range(0, songs * 2).Select(i => (long)random.Next(i % 2 == 0 ? 30 : 200)).ToArray(),
    Enumerable.Range(0, songs * 84).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(),
    Enumerable.Range(0, songs).Select(s => 1000.0 / (s + 1)).ToArray());
var batches = Enumerable.Range(0, settings.Steps + 1).Select(NewBatch).ToArray();
var job = new SplitTrainingOptions
{
    JobId = "benchmark", BottomWidth = settings.K, InteractiveWidth = settings.D, AlignedRows = 1_000_000,
    LabelDp = new LabelDpOptions { ClipNorm = 1.0, NoiseMultiplier = 1.0 },
    Insecure = InsecureAllowances.PlaintextReference,
};
Func<IEnumerable<TorchSharp.Modules.Parameter>, optim.Optimizer> adam = p => optim.Adam(p, 1e-3);
var plaintext = new PlaintextReferenceOptions { AcknowledgeInsecure = true };
var ckks = new CkksSessionOptions();

// Centralised step: all features pooled, one W.
manual_seed(1);
var centralTower = new ExternalBottomTower(externalOptions);
manual_seed(2);
var centralTop = new MusicTopModel(topOptions);
double centralSeconds;
using (var central = new CentralisedTwoTowerModel(centralTower, centralTop, catalog,
           randn(settings.K, settings.D, dtype: ScalarType.Float64) * Math.Sqrt(job.InitVariance), adam, adam, job.InteractiveLearningRate))
    centralSeconds = Time(i => { using var _ = NewDisposeScope(); central.Step(batches[i].Item1, batches[i].Item2); });
Report("centralised step", centralSeconds, null);

if (settings.Plain == 1)
{
    MeasureSplit("split step, plaintext reference",
        new PlaintextReferenceExternalSession(plaintext with { Seed = 1 }), new PlaintextReferenceMusicSession(plaintext with { Seed = 2 }));
    MeasureLayer("interactive layer only, plaintext reference",
        new PlaintextReferenceExternalSession(plaintext with { Seed = 3 }), new PlaintextReferenceMusicSession(plaintext with { Seed = 4 }));
}
if (settings.Ckks == 1)
{
    Console.WriteLine($"CKKS: {ckks.PolyModulusDegree} ring degree, primes [{string.Join(",", ckks.PrimeBits)}], input scale 2^{ckks.InputScaleBits}, " +
                      $"weights 2^{ckks.WeightBits}, flooding σ = 2^{Math.Log2(ckks.FloodingSigma):F1} for τ = {ckks.ReleaseBudget} releases per key");
    MeasureLayer("interactive layer only, CKKS", new CkksExternalSession(ckks), new CkksMusicSession(ckks, settings.K));
    MeasureSplit("split step, CKKS", new CkksExternalSession(ckks), new CkksMusicSession(ckks, settings.K));
}

void MeasureSplit(string name, IExternalPartyCryptoSession eSession, IMusicPartyCryptoSession mSession)
{
    manual_seed(1);
    var tower = new ExternalBottomTower(externalOptions);
    manual_seed(2);
    var top = new MusicTopModel(topOptions);
    var modeJob = eSession.Mode == Federated.Learning.Protocol.V1.CryptoMode.Ckks ? job with { Insecure = InsecureAllowances.None } : job;
    using var e = new ExternalPartyRole(modeJob, tower, adam, eSession, 11);
    using var m = new MusicPartyRole(modeJob, top, catalog, adam, mSession, 12);
    var setup = InProcessSplitExchange.Setup(e, m);
    ExchangeTraffic? traffic = null;
    double seconds = Time(i => { using var _ = NewDisposeScope(); traffic = InProcessSplitExchange.Step(e, m, batches[i].Item1, batches[i].Item2); });
    Report(name, seconds, traffic);
    Console.WriteLine($"  one-time key announcement: {setup.TotalBytes:N0} bytes; M's report: {m.LastReport!.SecurityNotice.Trim()}; " +
                      $"ε = {m.LastReport.Epsilon:G4} at δ = {m.LastReport.Delta} after {settings.Steps + 1} steps");
}

// The interactive layer's crypto flow alone (the F1..B5 session calls, no towers, no serialisation of messages).
void MeasureLayer(string name, IExternalPartyCryptoSession eSession, IMusicPartyCryptoSession mSession)
{
    using var ownedE = eSession;
    using var ownedM = mSession;
    eSession.ImportPeerPublicKeys(mSession.ExportPublicKeys());
    mSession.ImportPeerPublicKeys(eSession.ExportPublicKeys());
    var alpha = DenseMatrix.FromTensor(rand(settings.Batch, settings.K, dtype: ScalarType.Float64) * 2 - 1);
    var delta = DenseMatrix.FromTensor(randn(settings.Batch, settings.D, dtype: ScalarType.Float64) * 1e-3);
    var weightM = DenseMatrix.FromTensor(randn(settings.K, settings.D, dtype: ScalarType.Float64) * 0.1);
    var weightA = DenseMatrix.FromTensor(randn(settings.K, settings.D, dtype: ScalarType.Float64) * 0.1);
    var xiOverEta = DenseMatrix.FromTensor(randn(settings.K, settings.D, dtype: ScalarType.Float64) * 0.1);
    var alphaA = DenseMatrix.FromTensor(alpha.ToTensor().mm(weightA.ToTensor()));
    var deltaWm = DenseMatrix.FromTensor(delta.ToTensor().mm(weightM.ToTensor().t()));
    var phases = new Dictionary<string, double>();
    double Phase(string phase, Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        phases[phase] = phases.GetValueOrDefault(phase) + watch.Elapsed.TotalSeconds;
        return 0;
    }
    double seconds = Time(_ =>
    {
        Federated.Learning.Protocol.V1.CipherBlock f1 = null!, f2 = null!, f3 = null!, b2 = null!, x1 = null!, x2 = null!, b4 = null!;
        Phase("F1 E encrypt α", () => f1 = eSession.EncryptActivations(alpha));
        Phase("F2 M α·W_M, re-randomise, mask", () => f2 = mSession.ComputeForward(f1, weightM));
        Phase("F3 E decrypt, + α·A, flood", () => f3 = eSession.OpenForwardShare(f2, alphaA));
        Phase("F4 M unmask z_E", () => mSession.CloseForwardShare(f3));
        Phase("B2 M encrypt δ̃", () => b2 = mSession.EncryptGradient(delta));
        Phase("B3 E X1 (batch-sum), X2 (column)", () => (x1, x2) = eSession.ComputeBackward(b2, alpha, weightA, xiOverEta));
        Phase("B5 M decrypt X1", () => mSession.DecryptWeightGradient(x1));
        Phase("B4 M decrypt X2, + δ̃·W_Mᵀ, flood", () => b4 = mSession.OpenBackwardShare(x2, deltaWm));
        Phase("B5 E unmask g", () => eSession.CloseBackwardShare(b4));
    });
    Report(name, seconds, null);
    double total = phases.Values.Sum();
    foreach (var (phase, time) in phases) Console.WriteLine($"    {phase,-36} {100 * time / total,5:F1}%");
}

void Report(string name, double seconds, ExchangeTraffic? traffic)
{
    Console.WriteLine($"{name,-46} {settings.Batch / seconds,10:N0} samples/s  ({seconds * 1000:N0} ms/step; {seconds / centralSeconds:N2}x the centralised step)");
    if (traffic is null) return;
    foreach (var (type, bytes) in traffic.BytesByMessage.OrderBy(p => p.Key))
        Console.WriteLine($"    {type,-10} {bytes,14:N0} bytes  {bytes / (double)settings.Batch,10:N1} bytes/sample");
    Console.WriteLine($"    {"total",-10} {traffic.TotalBytes,14:N0} bytes  {traffic.TotalBytes / (double)settings.Batch,10:N1} bytes/sample");
}

(ExternalBatch, MusicBatch) NewBatch(int seed)
{
    var r = new Random(seed);
    int rows = settings.Batch;
    var eCat = new long[rows * 4];
    for (int i = 0; i < rows; i++)
    {
        eCat[i * 4] = r.Next(100); eCat[i * 4 + 1] = r.Next(50); eCat[i * 4 + 2] = r.Next(20); eCat[i * 4 + 3] = r.Next(1000);
    }
    var dense = Enumerable.Range(0, rows * 32).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    var uCat = new long[rows * 2];
    for (int i = 0; i < rows; i++) { uCat[i * 2] = r.Next(50); uCat[i * 2 + 1] = r.Next(20); }
    return (new ExternalBatch(rows, eCat, dense),
            new MusicBatch(rows, Enumerable.Range(0, rows).Select(_ => (long)r.Next(songs)).ToArray(), uCat,
                           Enumerable.Range(0, rows).Select(_ => r.NextDouble() < 0.6).ToArray()));
}

// Median wall time of the timed steps, after one warm-up step.
double Time(Action<int> step)
{
    step(0);
    var times = new List<double>();
    for (int i = 1; i <= settings.Steps; i++)
    {
        var watch = Stopwatch.StartNew();
        step(i);
        times.Add(watch.Elapsed.TotalSeconds);
    }
    times.Sort();
    return times[times.Count / 2];
}

internal sealed record Settings(int Batch, int K, int D, int Steps, int Threads, int Plain, int Ckks, int Quality)
{
    public static Settings Parse(string[] args)
    {
        var s = new Settings(4096, 128, 64, 5, 2, 1, 1, 0);
        for (int i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], out int value) || value < 0)
                throw new ArgumentException($"{args[i]} needs a non-negative integer");
            s = args[i] switch
            {
                "--batch" => s with { Batch = value },
                "--k" => s with { K = value },
                "--d" => s with { D = value },
                "--steps" => s with { Steps = Math.Max(1, value) },
                "--threads" => s with { Threads = Math.Max(1, value) },
                "--plain" => s with { Plain = value },
                "--ckks" => s with { Ckks = value },
                "--quality" => s with { Quality = value },
                _ => throw new ArgumentException($"unknown option '{args[i]}' (use --batch, --k, --d, --steps, --threads, --plain 0|1, --ckks 0|1, --quality STEPS)"),
            };
        }
        return s;
    }
}
