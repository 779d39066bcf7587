using Federated.Serving.Publication;

namespace Federated.Serving.Recall;

/// <summary>A song no published version holds, as a request gives it: songs-table metadata cells and the audio descriptor.</summary>
public sealed record NewSongFeatures(IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<float> AudioDescriptor);

/// <summary>
/// Builds a new song's item vector with one version's item tower (kept in the version's
/// <see cref="EmbeddingSet.EncoderFolder"/>), L2-normalised like the version's item vectors, so it is searched as a
/// known song is. The model code lives outside this library; the music host registers it.
/// </summary>
public interface INewSongEncoder
{
    /// <summary>
    /// The vector of <paramref name="song"/> under <paramref name="set"/>'s model (<see cref="EmbeddingSet.Dimensions"/> wide).
    /// Bad features: <see cref="ArgumentException"/> naming the field; a version published without an item tower:
    /// <see cref="InvalidOperationException"/>.
    /// </summary>
    float[] Encode(EmbeddingSet set, NewSongFeatures song);
}
