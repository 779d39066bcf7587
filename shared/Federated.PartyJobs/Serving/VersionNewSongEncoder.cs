using Federated.Serving.Publication;
using Federated.Serving.Recall;
using Federated.Training.Jobs;

namespace Federated.PartyJobs.Serving;

/// <summary>
/// The music host's <see cref="INewSongEncoder"/>: the <see cref="NewSongEncoder"/> each version keeps in its
/// <c>encoder/</c> folder (the files the version's manifest hashes, checked when the set was opened), loaded on first
/// use and kept for the few most recently asked versions.
/// </summary>
public sealed class VersionNewSongEncoder : INewSongEncoder, IDisposable
{
    private const int Kept = 3;
    private readonly object _gate = new();
    private readonly List<(string Folder, NewSongEncoder Encoder)> _loaded = [];

    public float[] Encode(EmbeddingSet set, NewSongFeatures song)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(song);
        var folder = set.EncoderFolder
            ?? throw new InvalidOperationException($"model version {set.Manifest.Version} was published without an item tower, so it cannot embed a new song (give song_id, or publish a new version)");
        lock (_gate)
        {
            var at = _loaded.FindIndex(e => e.Folder == folder);
            NewSongEncoder encoder;
            if (at >= 0)
            {
                encoder = _loaded[at].Encoder;
                _loaded.RemoveAt(at);
            }
            else
            {
                encoder = NewSongEncoder.Load(folder);
                if (encoder.Dimensions != set.Dimensions)
                {
                    encoder.Dispose();
                    throw new InvalidDataException($"model version {set.Manifest.Version}: its item tower gives {encoder.Dimensions}-dimensional vectors, the version holds {set.Dimensions}");
                }
            }
            _loaded.Add((folder, encoder));
            while (_loaded.Count > Kept)
            {
                _loaded[0].Encoder.Dispose();
                _loaded.RemoveAt(0);
            }
            // Under the gate: an encoder is never disposed while it encodes.
            return encoder.Encode(song.Metadata, song.AudioDescriptor);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var (_, encoder) in _loaded) encoder.Dispose();
            _loaded.Clear();
        }
    }
}
