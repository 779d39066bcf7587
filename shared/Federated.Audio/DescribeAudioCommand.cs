using System.Globalization;

namespace Federated.Audio;

/// <summary>
/// The music party's data step for audio: <c>describe-audio (--folder DIR [--recursive] | --list FILE) --out FILE.csv
/// [--workers N] [--ffmpeg PATH]</c> writes the descriptor table and its schema file into M's own data folder, ready to
/// join the songs table. Run on M's machine (the music host's <c>describe-audio</c> verb); the audio never leaves it.
/// </summary>
public static class DescribeAudioCommand
{
    public const string Verb = "describe-audio";

    public const string Usage =
        "usage: describe-audio (--folder DIR [--recursive] | --list FILE) --out FILE.csv [--workers N] [--ffmpeg PATH]\n" +
        "  --folder DIR   audio files in DIR; the song key is the file name without its extension\n" +
        "  --list FILE    CSV lines song_key,audio_path (paths relative to FILE's folder)\n" +
        "  --out FILE     the descriptor table (song_key,audio_descriptor) to write; its schema goes beside it\n" +
        "  --workers N    songs analysed at once (default: the processor count)\n" +
        "  --ffmpeg PATH  ffmpeg for formats the WAV reader does not decode (default: ffmpeg on PATH)";

    /// <summary>Parses the arguments after the verb, runs, prints one line per 5% and a summary; 0 on success, 2 on bad arguments.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string? folder = null, list = null, outFile = null, ffmpeg = null;
        var recursive = false;
        var workers = Environment.ProcessorCount;
        try
        {
            for (var i = 0; i < args.Count; i++)
            {
                string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--folder": folder = Value(); break;
                    case "--list": list = Value(); break;
                    case "--out": outFile = Value(); break;
                    case "--ffmpeg": ffmpeg = Value(); break;
                    case "--recursive": recursive = true; break;
                    case "--workers":
                        var text = Value();
                        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out workers) || workers < 1)
                            throw new ArgumentException($"--workers '{text}' must be a whole number of at least 1");
                        break;
                    case "--help" or "-h": await output.WriteLineAsync(Usage).ConfigureAwait(false); return 0;
                    default: throw new ArgumentException($"unknown argument '{args[i]}'");
                }
            }
            if ((folder is null) == (list is null)) throw new ArgumentException("give exactly one of --folder and --list");
            if (outFile is null) throw new ArgumentException("--out is missing");
            if (!outFile.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"--out '{outFile}' must name a .csv file");
        }
        catch (ArgumentException e)
        {
            await error.WriteLineAsync($"error: {e.Message}\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        try
        {
            var inputs = folder is not null ? AudioInputs.FromFolder(folder, recursive) : AudioInputs.FromListFile(list!);
            var step = Math.Max(1, inputs.Count / 20);
            var progress = new SynchronousProgress(p =>
            {
                if (p.Completed % step == 0 || p.Completed == p.Total)
                    output.WriteLine($"{p.Completed}/{p.Total} songs ({p.SongKey})");
            });
            var result = await AudioDescriptorWriter.DescribeAsync(inputs, outFile, progress, cancellationToken,
                new AudioDescriptorWriterOptions { MaxDegreeOfParallelism = workers, FfmpegPath = ffmpeg }).ConfigureAwait(false);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"described {result.Songs} songs ({result.AudioSeconds:0.0} s of audio) in {result.Elapsed.TotalSeconds:0.0} s: {result.CsvPath} and {result.SchemaPath}")).ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is AudioFormatException or AudioDescriptorException or IOException or UnauthorizedAccessException or ArgumentException or InvalidDataException)
        {
            await error.WriteLineAsync($"error: {e.Message}{(e.InnerException is { } inner ? $" ({inner.Message})" : "")}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
    private sealed class SynchronousProgress(Action<AudioDescribeProgress> report) : IProgress<AudioDescribeProgress>
    {
        public void Report(AudioDescribeProgress value) => report(value);
    }
}
