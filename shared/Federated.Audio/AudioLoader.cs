namespace Federated.Audio;

/// <summary>
/// Opens an audio file of any supported kind: WAV files are read by <see cref="WavReader"/>; other formats, and WAV
/// encodings the reader does not decode (ADPCM, mu-law...), go through ffmpeg when it is available.
/// </summary>
public sealed class AudioLoader
{
    private static readonly HashSet<string> WavExtensions = new(StringComparer.OrdinalIgnoreCase) { ".wav", ".wave" };

    private readonly string? _ffmpegPath;
    private readonly Lazy<FfmpegDecoder?> _ffmpeg;

    /// <param name="ffmpegPath">An explicit ffmpeg executable; null searches PATH on first need.</param>
    public AudioLoader(string? ffmpegPath = null)
    {
        _ffmpegPath = ffmpegPath;
        _ffmpeg = new Lazy<FfmpegDecoder?>(() => FfmpegDecoder.TryLocate(ffmpegPath));
    }

    /// <summary>File extensions treated as audio when a folder is described.</summary>
    public static IReadOnlySet<string> AudioExtensions { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".wav", ".wave", ".oga", ".ogg", ".opus", ".mp3", ".flac", ".m4a", ".aac", ".wma", ".aif", ".aiff", ".webm",
        ".mka",
    };

    public async Task<MonoAudio> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"audio file not found: {path}", path);
        }

        if (WavExtensions.Contains(Path.GetExtension(path)))
        {
            try
            {
                return WavReader.Read(path);
            }
            catch (AudioFormatException e) when (e.IsUnsupportedEncoding && _ffmpeg.Value is not null)
            {
                // Well-formed WAV in an encoding ffmpeg decodes; fall through.
            }
        }

        FfmpegDecoder ffmpeg = _ffmpeg.Value ?? throw FfmpegDecoder.NotFound(path, _ffmpegPath);
        return await ffmpeg.DecodeAsync(path, cancellationToken).ConfigureAwait(false);
    }
}
