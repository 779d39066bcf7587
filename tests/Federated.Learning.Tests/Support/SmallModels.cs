using Federated.Learning.Crypto;
using Federated.Learning.Model;
using Federated.Learning.Split;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Learning.Tests.Support;

/// <summary>Small towers, a random catalog and random aligned batches for protocol-level tests.</summary>
internal sealed class SmallModels : IDisposable
{
    public const int K = 8;
    public const int D = 6;

    public SmallModels(RecallLossKind loss = RecallLossKind.InBatchSoftmax, bool musicUsers = true, int interactiveWidth = D)
    {
        External = new ExternalTowerOptions
        {
            CategoricalCardinalities = new[] { 7, 5 },
            EmbeddingWidth = 4,
            DenseWidth = 3,
            HiddenWidths = new[] { 16 },
            OutputWidth = K,
        };
        Top = new MusicTopOptions
        {
            InteractiveWidth = interactiveWidth,
            Items = new ItemTowerOptions
            {
                SongCount = 40,
                IdEmbeddingWidth = 8,
                MetadataCardinalities = new[] { 4 },
                MetadataEmbeddingWidth = 3,
                AudioWidth = 6,
                AudioHiddenWidth = 12,
                HiddenWidth = 16,
            },
            Users = musicUsers ? new MusicUserOptions { CategoricalCardinalities = new[] { 6, 3 }, EmbeddingWidth = 4 } : null,
            Temperature = 0.2,
            Loss = loss,
            SampledNegatives = 5,
        };
        var random = new Random(11);
        var songs = Top.Items.SongCount;
        Catalog = new SongCatalog(Top.Items,
            Enumerable.Range(0, songs).Select(_ => (long)random.Next(4)).ToArray(),
            Enumerable.Range(0, songs * 6).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(),
            Enumerable.Range(0, songs).Select(s => 100.0 / (s + 1)).ToArray());
    }

    public ExternalTowerOptions External { get; }
    public MusicTopOptions Top { get; }
    public SongCatalog Catalog { get; }

    public ExternalBottomTower NewExternalTower(long seed) { manual_seed(seed); return new ExternalBottomTower(External); }
    public MusicTopModel NewTop(long seed) { manual_seed(seed); return new MusicTopModel(Top); }

    public (ExternalBatch External, MusicBatch Music) Batch(int rows, int seed)
    {
        var random = new Random(seed);
        var eCat = new long[rows * 2];
        for (int r = 0; r < rows; r++) { eCat[r * 2] = random.Next(7); eCat[r * 2 + 1] = random.Next(5); }
        var dense = Enumerable.Range(0, rows * 3).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var songs = Enumerable.Range(0, rows).Select(_ => (long)random.Next(Top.Items.SongCount)).ToArray();
        MusicBatch music;
        if (Top.Users is null) music = new MusicBatch(rows, songs);
        else
        {
            var uCat = new long[rows * 2];
            for (int r = 0; r < rows; r++) { uCat[r * 2] = random.Next(6); uCat[r * 2 + 1] = random.Next(3); }
            music = new MusicBatch(rows, songs, uCat, Enumerable.Range(0, rows).Select(_ => random.NextDouble() < 0.7).ToArray());
        }
        return (new ExternalBatch(rows, eCat, dense), music);
    }

    public static SplitTrainingOptions JobOptions(LabelDpOptions? labelDp = null, double gradientMaskStd = 0.1, int interactiveWidth = D) => new()
    {
        JobId = "job-test",
        BottomWidth = K,
        InteractiveWidth = interactiveWidth,
        InteractiveLearningRate = 0.1,
        GradientMaskStd = gradientMaskStd,
        LabelDp = labelDp,
        AlignedRows = 10_000,
        // Comparisons run the same job twice (plaintext and encrypted, rotated or not), so its secret randomness is fixed.
        Insecure = InsecureAllowances.PlaintextReference | InsecureAllowances.FixedSeed | (labelDp is null ? InsecureAllowances.NoLabelNoise : 0),
    };

    public static PlaintextReferenceOptions Plaintext(int seed) => new() { AcknowledgeInsecure = true, Seed = seed };

    public static Func<IEnumerable<Parameter>, optim.Optimizer> Adam(double lr = 0.01) => p => optim.Adam(p, lr);

    /// <summary>A split pair (E and M roles, plaintext reference, keys exchanged) over fresh towers from fixed seeds.</summary>
    public (ExternalPartyRole E, MusicPartyRole M) SplitPair(SplitTrainingOptions job)
    {
        var e = new ExternalPartyRole(job, NewExternalTower(1), Adam(), new PlaintextReferenceExternalSession(Plaintext(21)), seed: 101);
        var m = new MusicPartyRole(job, NewTop(2), Catalog, Adam(), new PlaintextReferenceMusicSession(Plaintext(22)), seed: 202);
        InProcessSplitExchange.Setup(e, m);
        return (e, m);
    }

    public void Dispose() => Catalog.Dispose();
}

internal static class MatrixAssert
{
    public static void Close(DenseMatrix expected, DenseMatrix actual, double tolerance, string what)
    {
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.Cols, actual.Cols);
        double worst = 0;
        for (int i = 0; i < expected.Values.Length; i++)
            worst = Math.Max(worst, Math.Abs(expected.Values[i] - actual.Values[i]));
        Assert.True(worst <= tolerance, $"{what}: largest difference {worst:E3} exceeds {tolerance:E1}");
    }

    public static double MaxAbs(DenseMatrix m) => m.Values.Max(Math.Abs);
}
