using System.Buffers.Binary;
using System.ComponentModel;
using System.Diagnostics;

namespace Federated.Audio;

/// <summary>
/// Decodes any format ffmpeg understands by piping it as raw 16-bit little-endian mono PCM at the analysis rate
/// (<c>ffmpeg -i in -vn -ac 1 -ar 22050 -f s16le -acodec pcm_s16le pipe:1</c>); nothing is written to disk.
/// </summary>
public sealed class FfmpegDecoder
{
    private const string InstallHint = "install ffmpeg (Debian: apt-get install ffmpeg) or convert the file to " +
                                       "16-bit PCM WAV";

    private FfmpegDecoder(string executable) => Executable = executable;

    /// <summary>Full path of the ffmpeg executable used.</summary>
    public string Executable { get; }

    /// <summary>Finds ffmpeg: <paramref name="explicitPath"/> when given, otherwise the first <c>ffmpeg</c> on
    /// <paramref name="searchPath"/> (defaults to the PATH environment variable). Null when there is none.</summary>
    public static FfmpegDecoder? TryLocate(string? explicitPath = null, string? searchPath = null)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath) ? new FfmpegDecoder(Path.GetFullPath(explicitPath)) : null;
        }

        string path = searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        string name = OperatingSystem.IsWindows() ? "ffmpeg.exe" : "ffmpeg";
        foreach (string dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return new FfmpegDecoder(candidate);
            }
        }

        return null;
    }

    /// <summary>The error to raise when <paramref name="audioPath"/> needs ffmpeg and none was found.</summary>
    public static AudioFormatException NotFound(string audioPath, string? explicitPath = null) =>
        new(audioPath, explicitPath is null
            ? $"decoding this format needs ffmpeg, which was not found on PATH: {InstallHint}"
            : $"decoding this format needs ffmpeg, which was not found at '{explicitPath}': {InstallHint}");

    /// <summary>Decodes <paramref name="audioPath"/> to mono audio at <see cref="AnalysisSettings.SampleRate"/>.
    /// </summary>
    public async Task<MonoAudio> DecodeAsync(string audioPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audioPath);
        if (!File.Exists(audioPath))
        {
            throw new FileNotFoundException($"audio file not found: {audioPath}", audioPath);
        }

        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (string arg in new[]
                 {
                     "-nostdin", "-hide_banner", "-loglevel", "error",
                     // The file: protocol keeps names with ':' or a leading '-' from being read as URLs or options.
                     "-i", "file:" + Path.GetFullPath(audioPath), "-vn", "-ac", "1",
                     "-ar", AnalysisSettings.SampleRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new AudioFormatException(audioPath, $"could not start ffmpeg at '{Executable}': {e.Message}",
                inner: e);
        }

        try
        {
            Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            float[] samples = await ReadPcmAsync(process.StandardOutput.BaseStream, cancellationToken)
                .ConfigureAwait(false);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            string errors = (await stderr.ConfigureAwait(false)).Trim();
            if (process.ExitCode != 0)
            {
                throw new AudioFormatException(audioPath,
                    $"ffmpeg could not decode the file (exit code {process.ExitCode}): {Tail(errors)}");
            }

            if (samples.Length == 0)
            {
                throw new AudioFormatException(audioPath, "ffmpeg decoded no audio samples (no audio stream?)");
            }

            return new MonoAudio(samples, AnalysisSettings.SampleRate);
        }
        finally
        {
            if (!process.HasExited)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Exited between the check and the kill.
                }
            }
        }
    }

    private static async Task<float[]> ReadPcmAsync(Stream pcm, CancellationToken cancellationToken)
    {
        // Grows like a list; one song at a time, so the copy on growth is acceptable.
        var samples = new float[AnalysisSettings.SampleRate * 60];
        int count = 0;
        var buffer = new byte[1 << 16];
        int carry = 0;
        while (true)
        {
            int read = await pcm.ReadAsync(buffer.AsMemory(carry), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            int bytes = carry + read;
            int pairs = bytes / 2;
            if (count + pairs > samples.Length)
            {
                Array.Resize(ref samples, Math.Max(samples.Length * 2, count + pairs));
            }

            for (int i = 0; i < pairs; i++)
            {
                samples[count++] = BinaryPrimitives.ReadInt16LittleEndian(buffer.AsSpan(2 * i)) / 32768f;
            }

            carry = bytes - 2 * pairs;
            if (carry == 1)
            {
                buffer[0] = buffer[bytes - 1];
            }
        }

        Array.Resize(ref samples, count);
        return samples;
    }

    private static string Tail(string text)
    {
        if (text.Length == 0)
        {
            return "(no message)";
        }

        string oneLine = text.ReplaceLineEndings(" | ");
        return oneLine.Length <= 400 ? oneLine : "..." + oneLine[^400..];
    }
}
