using TorchSharp;
using static TorchSharp.torch;

namespace Federated.Learning.Model;

/// <summary>
/// M's model above the interactive layer: the user vector from z_E (+ M's own user part), the item tower, both
/// L2-normalised, score = cosine / temperature, and the recall loss. The same module serves the split roles and the
/// centralised reference, so the two compute identical functions.
/// </summary>
public sealed class MusicTopModel : nn.Module
{
    private readonly ItemTower items;
    private readonly MusicUserPart? users;
    private readonly bool[] _songSeen;

    public MusicTopModel(MusicTopOptions options) : base(nameof(MusicTopModel))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        items = new ItemTower(options.Items, options.InteractiveWidth);
        if (options.Users is not null) users = new MusicUserPart(options.Users, options.InteractiveWidth);
        _songSeen = new bool[options.Items.SongCount];
        RegisterComponents();
    }

    public MusicTopOptions Options { get; }
    public ItemTower Items => items;

    /// <summary>Songs that have appeared in training (their ID embeddings are past the audio initialisation).</summary>
    public int SeenSongCount => _songSeen.Count(s => s);

    /// <summary>Per song, whether it has appeared in training: state beside the parameters, for checkpoints.</summary>
    public bool[] ExportSeenSongs() => (bool[])_songSeen.Clone();

    public void ImportSeenSongs(bool[] seen)
    {
        ArgumentNullException.ThrowIfNull(seen);
        if (seen.Length != _songSeen.Length) throw new InvalidDataException($"saved seen-songs list has {seen.Length} songs, the model {_songSeen.Length}");
        seen.CopyTo(_songSeen, 0);
    }

    /// <summary>
    /// Starts the ID embedding of each song appearing in training for the first time from the audio encoder's output
    /// (cold songs), and marks it seen. No-op when <see cref="MusicTopOptions.InitialiseNewSongsFromAudio"/> is off.
    /// </summary>
    public void InitialiseUnseenSongs(ReadOnlySpan<long> songIds, SongCatalog catalog)
    {
        if (!Options.InitialiseNewSongsFromAudio) return;
        var unseen = new List<long>();
        foreach (var id in songIds)
        {
            if (id < 0 || id >= _songSeen.Length) throw new ArgumentOutOfRangeException(nameof(songIds), id, $"song id outside 0..{_songSeen.Length - 1}");
            if (_songSeen[id]) continue;
            _songSeen[id] = true;
            unseen.Add(id);
        }
        if (unseen.Count > 0) items.InitialiseIdEmbeddingsFromAudio(unseen.ToArray(), catalog);
    }

    /// <summary>L2-normalised user vectors from z_E [B, d] and, when M has a user part, its own features.</summary>
    public Tensor UserVectors(Tensor zE, MusicBatch batch)
    {
        using var scope = NewDisposeScope();
        var raw = zE;
        if (users is not null)
        {
            int columns = Options.Users!.CategoricalCardinalities.Count;
            var ids = tensor(batch.UserCategorical!, new long[] { batch.Rows, columns }, ScalarType.Int64);
            var known = tensor(batch.UserKnown!, ScalarType.Bool);
            raw = raw.Plus(users.forward(ids, known));
        }
        return nn.functional.normalize(raw, p: 2, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>L2-normalised item vectors of the given songs.</summary>
    public Tensor ItemVectors(Tensor songIds, SongCatalog catalog)
    {
        using var scope = NewDisposeScope();
        return nn.functional.normalize(items.Forward(songIds, catalog), p: 2, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// L2-normalised item vectors of songs without a trained ID embedding, from their metadata ids [n, C] and audio
    /// input [n, A] alone (<see cref="ItemTower.ForwardWithAudioAsId"/>).
    /// </summary>
    public Tensor ItemVectorsWithAudioAsId(Tensor metadata, Tensor audio)
    {
        using var scope = NewDisposeScope();
        return nn.functional.normalize(items.ForwardWithAudioAsId(metadata, audio), p: 2, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The batch loss (mean over rows) for z_E [B, d]. <paramref name="negativeSampler"/> draws the popularity-sampled
    /// negatives of the BCE option (unused by the in-batch softmax).
    /// </summary>
    public Tensor Loss(Tensor zE, MusicBatch batch, SongCatalog catalog, Generator? negativeSampler = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Validate(Options);
        if (zE.dim() != 2 || zE.shape[0] != batch.Rows || zE.shape[1] != Options.InteractiveWidth)
            throw new ArgumentException($"z_E: expected shape [{batch.Rows}, {Options.InteractiveWidth}], got [{string.Join(", ", zE.shape)}]");
        using var scope = NewDisposeScope();
        InitialiseUnseenSongs(batch.SongIds, catalog);
        var songIds = tensor(batch.SongIds, ScalarType.Int64);
        var userVectors = UserVectors(zE, batch);
        var itemVectors = ItemVectors(songIds, catalog);
        Tensor loss;
        if (Options.Loss == RecallLossKind.InBatchSoftmax)
        {
            loss = RecallLoss.InBatchSoftmax(userVectors, itemVectors, songIds, catalog.LogSamplingProbability.index_select(0, songIds), Options.Temperature);
        }
        else
        {
            int n = Options.SampledNegatives;
            var negativeIds = multinomial(catalog.SamplingProbability, batch.Rows * (long)n, replacement: true, generator: negativeSampler)
                .reshape(batch.Rows, n);
            InitialiseUnseenSongs(negativeIds.data<long>().ToArray(), catalog);
            var negatives = ItemVectors(negativeIds.flatten(), catalog).reshape(batch.Rows, n, Options.InteractiveWidth);
            loss = RecallLoss.SampledBinaryCrossEntropy(userVectors, itemVectors, negatives, songIds, negativeIds, Options.Temperature);
        }
        return loss.MoveToOuterDisposeScope();
    }
}
