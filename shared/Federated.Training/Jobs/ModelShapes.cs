using Federated.Learning;
using Federated.Learning.Model;
using Federated.Training.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Training.Jobs;

/// <summary>
/// Tower shapes from each party's own encoded tables and the agreed model options. E's and M's shapes are their
/// own business; only k and d must agree. The federated jobs and the baselines build their models here, so every
/// row of the results table trains the same functions.
/// </summary>
public static class ModelShapes
{
    public static ExternalTowerOptions ExternalTower(EncodedTable users, TrainingModelOptions model) => new()
    {
        CategoricalCardinalities = users.CategoricalCardinalities,
        EmbeddingWidth = model.ExternalEmbeddingWidth,
        DenseWidth = users.DenseWidth,
        HiddenWidths = model.ExternalHiddenWidths,
        OutputWidth = model.BottomWidth,
    };

    public static MusicTopOptions MusicTop(MusicPartyData data, TrainingModelOptions model) => new()
    {
        InteractiveWidth = model.InteractiveWidth,
        Temperature = model.Temperature,
        Items = Items(data, model),
        Users = MusicUserColumns(data, model) is { Length: > 0 } columns
            ? new MusicUserOptions { CategoricalCardinalities = columns, EmbeddingWidth = model.MusicUserEmbeddingWidth }
            : null,
    };

    /// <summary>M's user-part columns: its categorical user features, then (optionally) its own user-id embedding.</summary>
    public static int[] MusicUserColumns(MusicPartyData data, TrainingModelOptions model) =>
        [.. data.Users?.CategoricalCardinalities ?? [], .. model.MusicUserIdEmbedding ? new[] { data.TrainableUserKeys.Length } : []];

    public static ItemTowerOptions Items(MusicPartyData data, TrainingModelOptions model) => new()
    {
        SongCount = data.Songs.Rows,
        IdEmbeddingWidth = model.SongIdEmbeddingWidth,
        MetadataCardinalities = data.Songs.CategoricalCardinalities,
        MetadataEmbeddingWidth = model.SongMetadataEmbeddingWidth,
        AudioWidth = data.Songs.DenseWidth,
        AudioHiddenWidth = model.AudioHiddenWidth,
        HiddenWidth = model.ItemHiddenWidth,
    };

    public static SongCatalog Catalog(MusicPartyData data, TrainingModelOptions model) =>
        new(Items(data, model), data.Songs.Categorical, data.Songs.Dense, data.SongInteractionCounts);

    public static Func<IEnumerable<Parameter>, optim.Optimizer> Adam(double learningRate) => p => TorchOptimisers.Adam(p, learningRate);

    /// <summary>Builds a module under a fixed torch seed, so both a run and its resumed or baseline twin start alike.</summary>
    public static T Seeded<T>(long seed, Func<T> build)
    {
        // torch's default generator is process-wide: both parties run in one process in tests and the demo.
        return TorchGate.Run(() =>
        {
            torch.manual_seed(seed);
            return build();
        });
    }
}
