using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Learning.Model;

/// <summary>
/// The item tower: song ID embedding, metadata embeddings and an audio encoder MLP over the descriptor vector,
/// concatenated and mapped to width d. The audio encoder's output has the ID embedding's width, so a cold song's
/// ID embedding can start from what its audio says (<see cref="InitialiseIdEmbeddingsFromAudio"/>).
/// </summary>
public sealed class ItemTower : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Embedding songEmbedding;
    private readonly Embedding metadataEmbedding;
    private readonly Sequential audioEncoder;
    private readonly Sequential head;
    private readonly long[] _offsets;
    private readonly int _metadataColumns;

    public ItemTower(ItemTowerOptions options, int outputWidth) : base(nameof(ItemTower))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Checks.Positive(outputWidth, nameof(outputWidth));
        Options = options;
        _metadataColumns = options.MetadataCardinalities.Count;
        _offsets = Layers.ColumnOffsets(options.MetadataCardinalities);
        songEmbedding = nn.Embedding(options.SongCount, options.IdEmbeddingWidth);
        using (no_grad()) songEmbedding.weight!.normal_(0, 0.05);
        metadataEmbedding = nn.Embedding(Math.Max(1, options.MetadataCardinalities.Sum(c => (long)c)), options.MetadataEmbeddingWidth);
        audioEncoder = Layers.Mlp(options.AudioWidth, new[] { options.AudioHiddenWidth }, options.IdEmbeddingWidth);
        int concatenated = options.IdEmbeddingWidth + _metadataColumns * options.MetadataEmbeddingWidth + options.IdEmbeddingWidth;
        head = Layers.Mlp(concatenated, new[] { options.HiddenWidth }, outputWidth);
        RegisterComponents();
    }

    public ItemTowerOptions Options { get; }

    /// <summary>songIds: int64 [n]; metadata: int64 [n, C]; audio: float32 [n, A]. Returns unnormalised float32 [n, d].</summary>
    public override Tensor forward(Tensor songIds, Tensor metadata, Tensor audio)
    {
        using var scope = NewDisposeScope();
        return Combine(songEmbedding.forward(songIds), metadata, audioEncoder.forward(audio)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Item vectors (unnormalised) of songs without a trained ID embedding (never trained on, or new to M): the audio
    /// encoder's output stands in for the ID embedding, as <see cref="InitialiseIdEmbeddingsFromAudio"/> sets it.
    /// metadata: int64 [n, C]; audio: float32 [n, A]. Returns float32 [n, d].
    /// </summary>
    public Tensor ForwardWithAudioAsId(Tensor metadata, Tensor audio)
    {
        using var scope = NewDisposeScope();
        var encoded = audioEncoder.forward(audio);
        return Combine(encoded, metadata, encoded).MoveToOuterDisposeScope();
    }

    private Tensor Combine(Tensor idPart, Tensor metadata, Tensor encodedAudio)
    {
        long n = idPart.shape[0];
        var parts = new List<Tensor> { idPart };
        if (_metadataColumns > 0)
            parts.Add(metadataEmbedding.forward(metadata.Plus(tensor(_offsets, ScalarType.Int64).unsqueeze(0)))
                .reshape(n, _metadataColumns * Options.MetadataEmbeddingWidth));
        parts.Add(encodedAudio);
        return head.forward(cat(parts, 1));
    }

    /// <summary>Item vectors (unnormalised) of the given songs, with their features taken from the catalog.</summary>
    public Tensor Forward(Tensor songIds, SongCatalog catalog)
    {
        using var scope = NewDisposeScope();
        return forward(songIds, catalog.Metadata.index_select(0, songIds), catalog.Audio.index_select(0, songIds)).MoveToOuterDisposeScope();
    }

    /// <summary>Sets the ID embeddings of the given (cold) songs to the audio encoder's output for their descriptors.</summary>
    public void InitialiseIdEmbeddingsFromAudio(long[] songIds, SongCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(songIds);
        if (songIds.Length == 0) return;
        BatchChecks.Ids("cold song ids", songIds, 1, new[] { Options.SongCount });
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(songIds, ScalarType.Int64);
        var encoded = audioEncoder.forward(catalog.Audio.index_select(0, ids));
        songEmbedding.weight!.index_copy_(0, ids, encoded);
    }

    /// <summary>The current ID embedding rows of the given songs (a detached copy).</summary>
    public Tensor IdEmbeddings(Tensor songIds)
    {
        using var _ = no_grad();
        return songEmbedding.forward(songIds).detach().clone();
    }

    /// <summary>The audio encoder's output for the given songs (a detached copy).</summary>
    public Tensor EncodeAudio(Tensor audio)
    {
        using var _ = no_grad();
        return audioEncoder.forward(audio).detach().clone();
    }
}
