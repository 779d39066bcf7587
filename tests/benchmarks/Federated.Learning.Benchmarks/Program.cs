using System.Diagnostics;
using Federated.Learning;
using Federated.Learning.Crypto;
using Federated.Learning.Model;
using Federated.Learning.Split;
using TorchSharp;
using static TorchSharp.torch;

// Figures for the split-training step: samples/s of the plaintext reference split step vs the centralised step on
// the same shapes, and the bytes per sample that would cross the boundary. Usage:
//   dotnet run -c Release --project tests/benchmarks/Federated.Learning.Benchmarks -- [--batch 4096] [--k 128] [--d 64] [--steps 5] [--threads 2]
var settings = Settings.Parse(args);
TorchRuntime.Initialise(settings.Threads);
Console.WriteLine($"split-training step, k={settings.K}, d={settings.D}, batch={settings.Batch}, threads={settings.Threads}, " +
                  $"{settings.Steps} timed steps after 2 warm-up steps; {Environment.ProcessorCount} cores visible");

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
var batches = Enumerable.Range(0, settings.Steps + 2).Select(NewBatch).ToArray();

var job = new SplitTrainingOptions
{
    JobId = "benchmark", BottomWidth = settings.K, InteractiveWidth = settings.D, AlignedRows = 1_000_000,
    LabelDp = new LabelDpOptions { ClipNorm = 1.0, NoiseMultiplier = 1.0 },
    Insecure = InsecureAllowances.PlaintextReference,
};
Func<IEnumerable<TorchSharp.Modules.Parameter>, optim.Optimizer> adam = p => optim.Adam(p, 1e-3);

// Centralised step.
manual_seed(1);
var centralTower = new ExternalBottomTower(externalOptions);
manual_seed(2);
var centralTop = new MusicTopModel(topOptions);
double centralSeconds;
using (var central = new CentralisedTwoTowerModel(centralTower, centralTop, catalog,
           randn(settings.K, settings.D, dtype: ScalarType.Float64) * Math.Sqrt(job.InitVariance), adam, adam, job.InteractiveLearningRate))
{
    centralSeconds = Time(i => { using var _ = NewDisposeScope(); central.Step(batches[i].Item1, batches[i].Item2); });
}

// Split step, plaintext reference (same message flow as CKKS, encryption replaced by identity).
manual_seed(1);
var splitTower = new ExternalBottomTower(externalOptions);
manual_seed(2);
var splitTop = new MusicTopModel(topOptions);
var plaintext = new PlaintextReferenceOptions { AcknowledgeInsecure = true };
using var e = new ExternalPartyRole(job, splitTower, adam, new PlaintextReferenceExternalSession(plaintext with { Seed = 1 }), 11);
using var m = new MusicPartyRole(job, splitTop, catalog, adam, new PlaintextReferenceMusicSession(plaintext with { Seed = 2 }), 12);
InProcessSplitExchange.Setup(e, m);
ExchangeTraffic? traffic = null;
double splitSeconds = Time(i => { using var _ = NewDisposeScope(); traffic = InProcessSplitExchange.Step(e, m, batches[i].Item1, batches[i].Item2); });

Console.WriteLine($"centralised step:             {settings.Batch / centralSeconds,10:N0} samples/s  ({centralSeconds * 1000:N1} ms/step, median)");
Console.WriteLine($"split step, plaintext ref.:   {settings.Batch / splitSeconds,10:N0} samples/s  ({splitSeconds * 1000:N1} ms/step, median)");
Console.WriteLine($"split / centralised time:     {splitSeconds / centralSeconds:N2}x");
Console.WriteLine($"bytes crossing the boundary per step (plaintext reference, 8 bytes per value; CKKS will differ):");
foreach (var (type, bytes) in traffic!.BytesByMessage.OrderBy(p => p.Key))
    Console.WriteLine($"  {type,-10} {bytes,14:N0} bytes  {bytes / (double)settings.Batch,10:N1} bytes/sample");
Console.WriteLine($"  {"total",-10} {traffic.TotalBytes,14:N0} bytes  {traffic.TotalBytes / (double)settings.Batch,10:N1} bytes/sample");
// The interactive layer's crypto flow alone (F1..B5 session calls, no towers): the part a CKKS backend replaces.
var alphaValues = DenseMatrix.FromTensor(rand(settings.Batch, settings.K, dtype: ScalarType.Float64) * 2 - 1);
var deltaValues = DenseMatrix.FromTensor(randn(settings.Batch, settings.D, dtype: ScalarType.Float64) * 1e-3);
var weightM = DenseMatrix.FromTensor(randn(settings.K, settings.D, dtype: ScalarType.Float64) * 0.1);
var weightA = DenseMatrix.FromTensor(randn(settings.K, settings.D, dtype: ScalarType.Float64) * 0.1);
var xiOverEta = DenseMatrix.FromTensor(randn(settings.K, settings.D, dtype: ScalarType.Float64) * 0.1);
var aTimesA = DenseMatrix.FromTensor(alphaValues.ToTensor().mm(weightA.ToTensor()));
var dTimesWm = DenseMatrix.FromTensor(deltaValues.ToTensor().mm(weightM.ToTensor().t()));
using var eSession = new PlaintextReferenceExternalSession(plaintext with { Seed = 3 });
using var mSession = new PlaintextReferenceMusicSession(plaintext with { Seed = 4 });
eSession.ImportPeerPublicKeys(mSession.ExportPublicKeys());
mSession.ImportPeerPublicKeys(eSession.ExportPublicKeys());
double layerSeconds = Time(_ =>
{
    var f2 = mSession.ComputeForward(eSession.EncryptActivations(alphaValues), weightM);
    mSession.CloseForwardShare(eSession.OpenForwardShare(f2, aTimesA));
    var (x1, x2) = eSession.ComputeBackward(mSession.EncryptGradient(deltaValues), alphaValues, weightA, xiOverEta);
    mSession.DecryptWeightGradient(x1);
    eSession.CloseBackwardShare(mSession.OpenBackwardShare(x2, dTimesWm));
});
Console.WriteLine($"interactive layer only (plaintext reference sessions, F1..B5): {settings.Batch / layerSeconds:N0} samples/s ({layerSeconds * 1000:N1} ms/step)");
Console.WriteLine($"M's report: {m.LastReport!.SecurityNotice.Trim()} ε = {m.LastReport.Epsilon:G4} at δ = {m.LastReport.Delta}");

// Median wall time of the timed steps, after two warm-up steps.
double Time(Action<int> step)
{
    step(0);
    step(1);
    var times = new List<double>();
    for (int i = 2; i < settings.Steps + 2; i++)
    {
        var watch = Stopwatch.StartNew();
        step(i);
        times.Add(watch.Elapsed.TotalSeconds);
    }
    times.Sort();
    return times[times.Count / 2];
}

internal sealed record Settings(int Batch, int K, int D, int Steps, int Threads)
{
    public static Settings Parse(string[] args)
    {
        var s = new Settings(4096, 128, 64, 5, 2);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (!int.TryParse(args[i + 1], out int value) || value <= 0)
                throw new ArgumentException($"{args[i]} needs a positive integer, got '{args[i + 1]}'");
            s = args[i] switch
            {
                "--batch" => s with { Batch = value },
                "--k" => s with { K = value },
                "--d" => s with { D = value },
                "--steps" => s with { Steps = value },
                "--threads" => s with { Threads = value },
                _ => throw new ArgumentException($"unknown option '{args[i]}' (use --batch, --k, --d, --steps, --threads)"),
            };
        }
        return s;
    }
}
