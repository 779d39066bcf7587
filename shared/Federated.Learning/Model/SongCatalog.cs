using static TorchSharp.torch;

namespace Federated.Learning.Model;

/// <summary>
/// M's song features, held once as tensors so batches carry song ids only: metadata ids <c>[songs, C]</c>, audio
/// descriptors <c>[songs, A]</c> (standardised by the caller), and each song's sampling probability under the batch
/// sampler (its share of interactions), used for the logQ correction and for sampled negatives.
/// </summary>
public sealed class SongCatalog : IDisposable
{
    public SongCatalog(ItemTowerOptions options, long[] metadata, float[] audio, double[] interactionCounts)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int songs = options.SongCount, columns = options.MetadataCardinalities.Count;
        BatchChecks.Length("song catalog metadata ids", metadata, (long)songs * columns, songs, columns);
        BatchChecks.Ids("song catalog metadata ids", metadata, columns, options.MetadataCardinalities);
        BatchChecks.Length("song catalog audio descriptors", audio, (long)songs * options.AudioWidth, songs, options.AudioWidth);
        for (int i = 0; i < audio.Length; i++)
            if (!float.IsFinite(audio[i]))
                throw new ArgumentException($"song catalog audio descriptors: song {i / options.AudioWidth}, value {i % options.AudioWidth} is not finite");
        BatchChecks.Length("song catalog interaction counts", interactionCounts, songs, songs, 1);

        // Add-one smoothing: songs never seen (cold songs) keep a finite logQ.
        double total = 0;
        for (int s = 0; s < songs; s++)
        {
            if (interactionCounts[s] < 0 || !double.IsFinite(interactionCounts[s]))
                throw new ArgumentException($"song catalog interaction counts: song {s} has count {interactionCounts[s]}");
            total += interactionCounts[s] + 1;
        }
        var logQ = new float[songs];
        var probability = new float[songs];
        for (int s = 0; s < songs; s++)
        {
            double q = (interactionCounts[s] + 1) / total;
            probability[s] = (float)q;
            logQ[s] = (float)Math.Log(q);
        }

        Options = options;
        Metadata = tensor(metadata, new long[] { songs, columns }, ScalarType.Int64).DetachFromDisposeScope();
        Audio = tensor(audio, new long[] { songs, options.AudioWidth }, ScalarType.Float32).DetachFromDisposeScope();
        LogSamplingProbability = tensor(logQ).DetachFromDisposeScope();
        SamplingProbability = tensor(probability).DetachFromDisposeScope();
    }

    public ItemTowerOptions Options { get; }
    public Tensor Metadata { get; }
    public Tensor Audio { get; }
    public Tensor LogSamplingProbability { get; }
    public Tensor SamplingProbability { get; }

    public void Dispose()
    {
        Metadata.Dispose();
        Audio.Dispose();
        LogSamplingProbability.Dispose();
        SamplingProbability.Dispose();
    }
}
