using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Federated.Data.Reading;
using Federated.Launcher;

namespace Federated.Integration.Tests;

/// <summary>The music host's <c>describe-audio</c> verb: M's audio data step, run as the real host binary.</summary>
public sealed class MusicHostAudioTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "federated-audio-it-" + Guid.NewGuid().ToString("N")[..12]);

    public MusicHostAudioTests() => Directory.CreateDirectory(Path.Combine(_folder, "audio"));

    [Fact]
    public async Task Describe_audio_writes_a_descriptor_table_the_data_readers_load_with_one_row_per_song()
    {
        var tones = new Dictionary<string, double> { ["low"] = 220, ["mid"] = 880, ["high"] = 3520 };
        foreach (var (song, hertz) in tones)
            await File.WriteAllBytesAsync(Path.Combine(_folder, "audio", song + ".wav"), SineWav(hertz, seconds: 5));
        var table = Path.Combine(_folder, "music", "song_audio.csv");

        var (exit, output, error) = await RunAsync("describe-audio", "--folder", Path.Combine(_folder, "audio"), "--out", table, "--workers", "2");

        Assert.True(exit == 0, $"exit {exit}\n{output}\n{error}");
        Assert.Contains("described 3 songs", output, StringComparison.Ordinal);
        var rows = new Dictionary<string, float[]>(StringComparer.Ordinal);
        await using (var reader = await TableReader.OpenFromSchemaFileAsync(Path.Combine(_folder, "music", "song_audio.schema.json")))
            await foreach (var row in reader)
                rows[row.Key!] = row.GetVector("audio_descriptor")!.ToArray();
        Assert.Equal(tones.Keys.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        Assert.All(rows.Values, v => Assert.Equal(Federated.Audio.DescriptorLayout.Width, v.Length));
        // The spectral centroid's mean over the song follows the tone's pitch.
        var index = Federated.Audio.DescriptorLayout.IndexOf("spectral_centroid_hz", "mean");
        var centroid = rows.ToDictionary(r => r.Key, r => r.Value[index]);
        Assert.True(centroid["low"] < centroid["mid"] && centroid["mid"] < centroid["high"],
            $"centroids low {centroid["low"]}, mid {centroid["mid"]}, high {centroid["high"]}");
    }

    [Fact]
    public async Task Describe_audio_refuses_bad_arguments_naming_them_and_writes_nothing()
    {
        var table = Path.Combine(_folder, "out.csv");
        var (exit, _, error) = await RunAsync("describe-audio", "--folder", Path.Combine(_folder, "audio"), "--workers", "zero", "--out", table);
        Assert.Equal(2, exit);
        Assert.Contains("--workers 'zero'", error, StringComparison.Ordinal);

        (exit, _, error) = await RunAsync("describe-audio", "--out", table);
        Assert.Equal(2, exit);
        Assert.Contains("exactly one of --folder and --list", error, StringComparison.Ordinal);

        await File.WriteAllBytesAsync(Path.Combine(_folder, "audio", "broken.wav"), Encoding.ASCII.GetBytes("RIFF....WAVEjunk"));
        (exit, _, error) = await RunAsync("describe-audio", "--folder", Path.Combine(_folder, "audio"), "--out", table);
        Assert.Equal(1, exit);
        Assert.Contains("broken", error, StringComparison.Ordinal);
        Assert.False(File.Exists(table), "a failed run must leave no table");
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] arguments)
    {
        var music = HostBinaries.FromAssemblyMetadata(typeof(MusicHostAudioTests).Assembly).Music;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(music);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>A mono 16-bit 22.05 kHz WAV of a sine at half amplitude.</summary>
    private static byte[] SineWav(double hertz, double seconds)
    {
        const int rate = 22050;
        var samples = (int)(rate * seconds);
        var bytes = new byte[44 + samples * 2];
        Encoding.ASCII.GetBytes("RIFF").CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)(36 + samples * 2));
        Encoding.ASCII.GetBytes("WAVEfmt ").CopyTo(bytes, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(20), 1);      // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(22), 1);      // mono
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), rate);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), rate * 2);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(32), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(34), 16);
        Encoding.ASCII.GetBytes("data").CopyTo(bytes, 36);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(40), (uint)(samples * 2));
        for (var i = 0; i < samples; i++)
            BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(44 + 2 * i), (short)(16384 * Math.Sin(2 * Math.PI * hertz * i / rate)));
        return bytes;
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
