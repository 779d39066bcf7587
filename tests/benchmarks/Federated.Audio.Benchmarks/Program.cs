using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Federated.Audio;
using MathNet.Numerics.IntegralTransforms;

// Audio descriptor throughput: seconds of audio described per second of wall time.
//   dotnet run -c Release --project tests/benchmarks/Federated.Audio.Benchmarks -- [--songs N] [--seconds S]
//       [--folder DIR]
// Without --folder it synthesises N music-like 44.1 kHz 16-bit stereo WAV songs of S seconds (default 8 x 30 s),
// then describes them with one worker and with all cores; it also describes the freedesktop sounds through ffmpeg
// when both are installed.
int songs = 8;
double seconds = 30;
string? folder = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--songs": songs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--folder": folder = args[++i]; break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'; expected --songs N, --seconds S, --folder DIR");
            return 2;
    }
}

Console.WriteLine($"cores: {Environment.ProcessorCount}, layout {DescriptorLayout.Version} ({DescriptorLayout.Width} floats)");
string work = Directory.CreateTempSubdirectory("fed-audio-bench-").FullName;
try
{
    if (folder is not null)
    {
        await Measure("folder " + folder, AudioInputs.FromFolder(folder), Environment.ProcessorCount);
        return 0;
    }

    var inputs = new List<AudioInput>();
    for (int s = 0; s < songs; s++)
    {
        string path = Path.Combine(work, $"song{s:000}.wav");
        WriteStereoWav(path, SynthesiseSong(s, seconds, 44100), 44100);
        inputs.Add(new AudioInput($"song{s:000}", path));
    }

    // Warm-up (JIT, tables) on one song, not measured.
    await AudioDescriptorWriter.DescribeAsync(inputs.Take(1).ToList(), Path.Combine(work, "warmup.csv"));

    // Stage times for one song: best of three, since the machine is shared and timings are noisy.
    double readMs = double.MaxValue, resampleMs = double.MaxValue, featuresMs = double.MaxValue;
    for (int round = 0; round < 3; round++)
    {
        var sw = Stopwatch.StartNew();
        MonoAudio decoded = WavReader.Read(inputs[0].AudioPath);
        readMs = Math.Min(readMs, sw.Elapsed.TotalMilliseconds);
        sw.Restart();
        MonoAudio resampled = Resampler.Resample(decoded, AnalysisSettings.SampleRate);
        resampleMs = Math.Min(resampleMs, sw.Elapsed.TotalMilliseconds);
        sw.Restart();
        AudioDescriptor.Describe(resampled);
        featuresMs = Math.Min(featuresMs, sw.Elapsed.TotalMilliseconds);
    }

    Console.WriteLine($"one {seconds:F0} s song, stages (best of 3): read WAV {readMs:F1} ms, resample " +
                      $"44.1->22.05 kHz {resampleMs:F1} ms, frame features + statistics {featuresMs:F1} ms");

    CompareFft(resampledForFft: Resampler.Resample(WavReader.Read(inputs[0].AudioPath), AnalysisSettings.SampleRate));

    await Measure($"synthetic WAV, {songs} x {seconds:F0} s, 1 worker", inputs, 1);
    await Measure($"synthetic WAV, {songs} x {seconds:F0} s, {Environment.ProcessorCount} workers", inputs,
        Environment.ProcessorCount);

    if (FfmpegDecoder.TryLocate() is { } ffmpeg)
    {
        // The same songs as Ogg Vorbis: realistic compressed input, decoded by one ffmpeg process per song.
        var oggInputs = new List<AudioInput>();
        foreach (AudioInput input in inputs)
        {
            string ogg = Path.ChangeExtension(input.AudioPath, ".ogg");
            EncodeOgg(ffmpeg.Executable, input.AudioPath, ogg);
            oggInputs.Add(input with { AudioPath = ogg });
        }

        await Measure($"Ogg Vorbis via ffmpeg, {songs} x {seconds:F0} s, {Environment.ProcessorCount} workers",
            oggInputs, Environment.ProcessorCount);

        const string sounds = "/usr/share/sounds/freedesktop/stereo";
        if (Directory.Exists(sounds))
        {
            await Measure("freedesktop sounds (35 short .oga) via ffmpeg", AudioInputs.FromFolder(sounds),
                Environment.ProcessorCount);
        }
    }
    else
    {
        Console.WriteLine("(skipping the ffmpeg figures: install ffmpeg and sound-theme-freedesktop)");
    }

    Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):F0} MiB");
    return 0;
}
finally
{
    Directory.Delete(work, recursive: true);
}

async Task Measure(string label, IReadOnlyList<AudioInput> inputs, int workers)
{
    string csv = Path.Combine(work, "out.csv");
    AudioDescribeResult result = await AudioDescriptorWriter.DescribeAsync(inputs, csv,
        options: new AudioDescriptorWriterOptions { MaxDegreeOfParallelism = workers });
    double wall = result.Elapsed.TotalSeconds;
    Console.WriteLine($"{label}: {result.Songs} songs, {result.AudioSeconds:F1} s of audio in {wall:F2} s wall = " +
                      $"{result.AudioSeconds / wall:F0} s of audio per wall second");
}

// RealFft against MathNet's Fourier.ForwardReal (its default settings, as a library would get them) on the same
// frames, interleaved rounds so both see the same machine load.
static void CompareFft(MonoAudio resampledForFft)
{
    const int n = AnalysisSettings.FrameLength;
    float[] x = resampledForFft.Samples;
    int frames = (x.Length - n) / AnalysisSettings.HopLength + 1;
    var fft = new RealFft(n);
    var frame = new double[n];
    var packed = new double[n + 2];
    var re = new double[n / 2 + 1];
    var im = new double[n / 2 + 1];
    double ours = double.MaxValue, mathNet = double.MaxValue;
    for (int round = 0; round < 5; round++)
    {
        var sw = Stopwatch.StartNew();
        for (int f = 0; f < frames; f++)
        {
            for (int i = 0; i < n; i++) frame[i] = x[f * AnalysisSettings.HopLength + i];
            fft.Forward(frame, re, im);
        }

        ours = Math.Min(ours, sw.Elapsed.TotalMicroseconds / frames);
        sw.Restart();
        for (int f = 0; f < frames; f++)
        {
            for (int i = 0; i < n; i++) packed[i] = x[f * AnalysisSettings.HopLength + i];
            packed[n] = packed[n + 1] = 0;
            Fourier.ForwardReal(packed, n, FourierOptions.AsymmetricScaling);
        }

        mathNet = Math.Min(mathNet, sw.Elapsed.TotalMicroseconds / frames);
    }

    Console.WriteLine($"{n}-point real FFT (best of 5 rounds of {frames}): RealFft {ours:F1} us, " +
                      $"MathNet.Numerics ForwardReal {mathNet:F1} us");
}

static void EncodeOgg(string ffmpeg, string wav, string ogg)
{
    var start = new ProcessStartInfo(ffmpeg) { RedirectStandardError = true, UseShellExecute = false };
    foreach (string arg in new[] { "-nostdin", "-loglevel", "error", "-y", "-i", wav, "-c:a", "libvorbis", "-q:a", "4", ogg })
    {
        start.ArgumentList.Add(arg);
    }

    using var process = Process.Start(start)!;
    string errors = process.StandardError.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0)
    {
        throw new InvalidOperationException($"ffmpeg could not encode {wav} to Ogg Vorbis: {errors}");
    }
}

// A deterministic music-like signal: a chord that changes every 2 s, a decaying noise "drum" on each beat.
static (float Left, float Right)[] SynthesiseSong(int seed, double seconds, int rate)
{
    var random = new Random(seed);
    var frames = new (float, float)[(int)(seconds * rate)];
    double[] roots = [220, 247, 262, 294, 330, 349, 392];
    double beat = 0.5 + 0.1 * (seed % 3);
    for (int i = 0; i < frames.Length; i++)
    {
        double t = (double)i / rate;
        double root = roots[((int)(t / 2) + seed) % roots.Length];
        double chord = 0.15 * (Math.Sin(2 * Math.PI * root * t) + Math.Sin(2 * Math.PI * root * 1.26 * t) +
                               Math.Sin(2 * Math.PI * root * 1.5 * t));
        double sinceBeat = t % beat;
        double drum = 0.3 * Math.Exp(-sinceBeat * 30) * (2 * random.NextDouble() - 1);
        frames[i] = ((float)(chord + drum), (float)(0.8 * chord + drum));
    }

    return frames;
}

static void WriteStereoWav(string path, (float Left, float Right)[] frames, int rate)
{
    int dataBytes = frames.Length * 4;
    var bytes = new byte[44 + dataBytes];
    Encoding.ASCII.GetBytes("RIFF").CopyTo(bytes, 0);
    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)(36 + dataBytes));
    Encoding.ASCII.GetBytes("WAVEfmt ").CopyTo(bytes, 8);
    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), 16);
    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(20), 1);
    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(22), 2);
    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), (uint)rate);
    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), (uint)(rate * 4));
    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(32), 4);
    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(34), 16);
    Encoding.ASCII.GetBytes("data").CopyTo(bytes, 36);
    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(40), (uint)dataBytes);
    for (int i = 0; i < frames.Length; i++)
    {
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(44 + 4 * i), ToPcm(frames[i].Left));
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(46 + 4 * i), ToPcm(frames[i].Right));
    }

    File.WriteAllBytes(path, bytes);
}

static short ToPcm(float v) => (short)Math.Clamp(Math.Round(v * 32767.0), short.MinValue, short.MaxValue);
