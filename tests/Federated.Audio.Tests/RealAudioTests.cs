using System.Diagnostics;

namespace Federated.Audio.Tests;

/// <summary>
/// Real recorded audio from Debian packages, decoded by ffmpeg. These tests FAIL (never skip) when a package is
/// missing: ffmpeg, sound-theme-freedesktop (Ogg Vorbis sounds) and espeak-ng (speech synthesis).
/// </summary>
[Trait("Category", "Integration")] // runs ffmpeg on recordings from Debian packages
public sealed class RealAudioTests : IDisposable
{
    private const string SoundDir = "/usr/share/sounds/freedesktop/stereo";
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-audio-real-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static FfmpegDecoder RequireFfmpeg() =>
        FfmpegDecoder.TryLocate() ?? throw new InvalidOperationException(
            "ffmpeg is not on PATH: install the Debian package 'ffmpeg' (apt-get install ffmpeg)");

    private static string RequireSound(string name)
    {
        string path = Path.Combine(SoundDir, name);
        Assert.True(File.Exists(path),
            $"{path} is missing: install the Debian package 'sound-theme-freedesktop' (apt-get install sound-theme-freedesktop)");
        return path;
    }

    private string Speak(string name, string text)
    {
        string wav = Path.Combine(_dir, name);
        var start = new ProcessStartInfo("espeak-ng") { RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { "-w", wav, "-s", "150", text })
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(start)!;
            string errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"espeak-ng failed ({process.ExitCode}): {errors}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"espeak-ng could not be started ({e.Message}): install the Debian package 'espeak-ng' " +
                        "(apt-get install espeak-ng)");
        }

        return wav;
    }

    [Fact]
    public async Task Ogg_recordings_decode_through_ffmpeg_to_distinct_finite_descriptors()
    {
        FfmpegDecoder ffmpeg = RequireFfmpeg();
        string alarm = RequireSound("alarm-clock-elapsed.oga");   // 6.1 s, 48 kHz stereo
        string login = RequireSound("service-login.oga");         // 2.2 s, 22.05 kHz stereo

        MonoAudio alarmAudio = await ffmpeg.DecodeAsync(alarm);
        Assert.Equal(AnalysisSettings.SampleRate, alarmAudio.SampleRate);
        Assert.InRange(alarmAudio.DurationSeconds, 6.0, 6.25);
        Assert.True(alarmAudio.Samples.Max(Math.Abs) > 0.05f, "decoded audio should not be near-silent");

        var loader = new AudioLoader();
        var (alarmVector, _) = await AudioDescriptorWriter.DescribeOneAsync(loader, new AudioInput("alarm", alarm));
        var (loginVector, _) = await AudioDescriptorWriter.DescribeOneAsync(loader, new AudioInput("login", login));
        foreach (float[] v in new[] { alarmVector, loginVector })
        {
            Assert.Equal(DescriptorLayout.Width, v.Length);
            Assert.All(v, x => Assert.True(float.IsFinite(x)));
            Assert.True(Signals.Element(v, "rms", "max") > 0.005f);
        }

        // Different recordings differ clearly, not by round-off.
        int differing = alarmVector.Zip(loginVector).Count(p => Math.Abs(p.First - p.Second) >
                                                                  1e-3 * Math.Max(1, Math.Abs(p.First)));
        Assert.True(differing > DescriptorLayout.Width / 3, $"only {differing} elements differ");
        Assert.NotEqual(Signals.Element(alarmVector, "spectral_centroid_hz", "mean"),
            Signals.Element(loginVector, "spectral_centroid_hz", "mean"));

        // 6.1 s gives two segments, so the spread statistics carry information.
        Assert.True(Signals.Element(alarmVector, "rms", "max") > Signals.Element(alarmVector, "rms", "min"));
    }

    [Fact]
    public async Task Speech_from_espeak_is_read_directly_and_through_ffmpeg_alike()
    {
        FfmpegDecoder ffmpeg = RequireFfmpeg();
        string speech = Speak("speech.wav",
            "Vertical federated learning trains one model across two parties without pooling their data. " +
            "Audio descriptors summarise each song over four second segments.");

        MonoAudio direct = WavReader.Read(speech);
        Assert.InRange(direct.DurationSeconds, 8.0, 30.0);
        float[] directVector = AudioDescriptor.Describe(direct);
        float[] viaFfmpeg = AudioDescriptor.Describe(await ffmpeg.DecodeAsync(speech));

        Assert.All(directVector, x => Assert.True(float.IsFinite(x)));
        // Speech alternates voiced sounds, fricatives and pauses: segments differ.
        Assert.True(Signals.Element(directVector, "rms", "variance") > 0);
        Assert.True(Signals.Element(directVector, "zero_crossing_rate", "max") >
                    Signals.Element(directVector, "zero_crossing_rate", "min"));
        // Speech energy sits well below 4 kHz on average.
        Assert.InRange(Signals.Element(directVector, "spectral_centroid_hz", "mean"), 300f, 4000f);

        // ffmpeg at the same rate yields the same samples up to 16-bit requantisation: means agree closely.
        foreach (string feature in DescriptorLayout.Features.Take(6))
        {
            float a = Signals.Element(directVector, feature, "mean");
            float b = Signals.Element(viaFfmpeg, feature, "mean");
            Assert.True(Math.Abs(a - b) <= 0.02 * Math.Abs(a) + 1e-4, $"{feature}: direct {a}, ffmpeg {b}");
        }
    }

    [Fact]
    public async Task Writer_describes_a_real_folder_of_ogg_files()
    {
        RequireFfmpeg();
        foreach (string name in new[] { "complete.oga", "bell.oga", "phone-outgoing-busy.oga", "camera-shutter.oga" })
        {
            File.Copy(RequireSound(name), Path.Combine(_dir, name));
        }

        string csv = Path.Combine(_dir, "songs_audio.csv");
        AudioDescribeResult result = await AudioDescriptorWriter.DescribeAsync(AudioInputs.FromFolder(_dir), csv);
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal(5, lines.Length);
        Assert.Equal(["bell", "camera-shutter", "complete", "phone-outgoing-busy"],
            lines.Skip(1).Select(l => l[..l.IndexOf(',')]));
        var vectors = lines.Skip(1).Select(l => AudioDescriptorWriter.ParseVector(l[(l.IndexOf(',') + 1)..])).ToList();
        Assert.All(vectors, v => Assert.Equal(DescriptorLayout.Width, v.Length));
        Assert.All(vectors, v => Assert.All(v, x => Assert.True(float.IsFinite(x))));
        Assert.Equal(4, vectors.Select(v => string.Join(";", v)).Distinct().Count());
        Assert.InRange(result.AudioSeconds, 4.0, 5.5); // 0.14 + 0.87 + 1.09 + 2.88 s
    }

    [Fact]
    public async Task Wav_in_an_encoding_the_reader_lacks_falls_back_to_ffmpeg()
    {
        FfmpegDecoder ffmpeg = RequireFfmpeg();
        string mulaw = Path.Combine(_dir, "tone-mulaw.wav");
        var start = new ProcessStartInfo(ffmpeg.Executable) { RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[]
                 {
                     "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=1000:duration=2:sample_rate=8000",
                     "-acodec", "pcm_mulaw", mulaw,
                 })
        {
            start.ArgumentList.Add(arg);
        }

        using (var process = Process.Start(start)!)
        {
            string errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"ffmpeg could not write the mu-law test file: {errors}");
        }

        var direct = Assert.Throws<AudioFormatException>(() => WavReader.Read(mulaw));
        Assert.True(direct.IsUnsupportedEncoding);
        Assert.Contains("format code 7 (0x0007) (mu-law)", direct.Message);

        MonoAudio audio = await new AudioLoader().LoadAsync(mulaw);
        Assert.Equal(AnalysisSettings.SampleRate, audio.SampleRate);
        float[] d = AudioDescriptor.Describe(audio);
        Assert.InRange(Signals.Element(d, "spectral_centroid_hz", "mean"), 950f, 1050f);
    }

    [Fact]
    public async Task Garbage_that_ffmpeg_cannot_decode_is_reported_with_ffmpegs_reason()
    {
        FfmpegDecoder ffmpeg = RequireFfmpeg();
        string garbage = Path.Combine(_dir, "garbage.ogg");
        File.WriteAllBytes(garbage, Enumerable.Range(0, 4096).Select(i => (byte)(i * 37)).ToArray());
        var e = await Assert.ThrowsAsync<AudioFormatException>(() => ffmpeg.DecodeAsync(garbage));
        Assert.StartsWith(garbage + ": ffmpeg could not decode the file (exit code", e.Message);
    }

    [Fact]
    public async Task File_names_that_look_like_options_or_urls_are_decoded_as_files()
    {
        FfmpegDecoder ffmpeg = RequireFfmpeg();
        string odd = Path.Combine(_dir, "-http:odd name.oga");
        File.Copy(RequireSound("complete.oga"), odd);
        MonoAudio audio = await ffmpeg.DecodeAsync(odd);
        Assert.InRange(audio.DurationSeconds, 1.0, 1.2);
    }
}
