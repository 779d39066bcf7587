using Federated.Learning.Model;
using Federated.Learning.Split;
using Federated.Training.Data;

namespace Federated.Training.Jobs;

/// <summary>
/// Each party's model and split-training role as a job of given options builds them, from the party's own seed: the
/// training job, and a live inference session reopening its checkpoint, start from the same functions.
/// </summary>
public static class PartyModels
{
    /// <summary>M's top model (item tower, user part, fusion) before pretraining or a checkpoint restore.</summary>
    public static MusicTopModel NewMusicTop(MusicPartyData data, TrainingModelOptions model, ulong partySeed) =>
        ModelShapes.Seeded(TorchSeed(partySeed), () => new MusicTopModel(ModelShapes.MusicTop(data, model)));

    /// <summary>M's role over <paramref name="top"/>, with a new crypto session of the job's mode (the role owns it).</summary>
    public static MusicPartyRole NewMusicRole(TrainingJobOptions options, long alignedRows, MusicTopModel top, SongCatalog catalog, ulong partySeed) =>
        new(options.ToSplitOptions(alignedRows), top, catalog, ModelShapes.Adam(options.Model.TopLearningRate), MusicPartyJob.NewSession(options, partySeed), partySeed);

    /// <summary>E's bottom tower over its encoded features, before a checkpoint restore.</summary>
    public static ExternalBottomTower NewExternalTower(EncodedTable features, TrainingModelOptions model, ulong partySeed) =>
        ModelShapes.Seeded(TorchSeed(partySeed), () => new ExternalBottomTower(ModelShapes.ExternalTower(features, model)));

    /// <summary>E's role over <paramref name="tower"/>, with a new crypto session of the job's mode (the role owns it).</summary>
    public static ExternalPartyRole NewExternalRole(TrainingJobOptions options, long alignedRows, ExternalBottomTower tower, ulong partySeed) =>
        new(options.ToSplitOptions(alignedRows), tower, ModelShapes.Adam(options.Model.TowerLearningRate), ExternalPartyJob.NewSession(options, partySeed), partySeed);

    private static long TorchSeed(ulong partySeed) => (long)(partySeed & 0x7FFFFFFF);
}
