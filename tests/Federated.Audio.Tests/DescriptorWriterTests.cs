using System.Globalization;
using System.Text.Json;

namespace Federated.Audio.Tests;

[Trait("Category", "Unit")]
public sealed class DescriptorWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-audio-writer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteWav(string name, MonoAudio audio)
    {
        string path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WavBuilder.WriteMono16(path, audio.Samples, audio.SampleRate);
        return path;
    }

    private static List<(string Key, float[] Vector)> ReadTable(string csv)
    {
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal("song_key,audio_descriptor", lines[0]);
        return lines.Skip(1).Select(l =>
        {
            int comma = l.LastIndexOf(',');
            return (l[..comma], AudioDescriptorWriter.ParseVector(l[(comma + 1)..]));
        }).ToList();
    }

    [Fact]
    public async Task Describes_folder_in_key_order_with_finite_vectors_and_schema()
    {
        WriteWav("b_noise.wav", Signals.Noise(0.3, 2.0));
        WriteWav("a_tone.wav", Signals.Tone(600, 0.5, 6.0, 44100));
        WriteWav("c_silence.wav", Signals.Silence(1.0, 16000));
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "not audio");
        string csv = Path.Combine(_dir, "out", "song_audio.csv");

        var reports = new List<AudioDescribeProgress>();
        var progress = new SynchronousProgress<AudioDescribeProgress>(reports.Add);
        AudioDescribeResult result =
            await AudioDescriptorWriter.DescribeAsync(AudioInputs.FromFolder(_dir), csv, progress);

        var rows = ReadTable(csv);
        Assert.Equal(["a_tone", "b_noise", "c_silence"], rows.Select(r => r.Key));
        Assert.All(rows, r =>
        {
            Assert.Equal(DescriptorLayout.Width, r.Vector.Length);
            Assert.All(r.Vector, v => Assert.True(float.IsFinite(v)));
        });
        Assert.Equal(3, result.Songs);
        Assert.InRange(result.AudioSeconds, 8.99, 9.01);
        Assert.Equal([1, 2, 3], reports.Select(p => p.Completed));
        Assert.Equal(["a_tone", "b_noise", "c_silence"], reports.Select(p => p.SongKey));

        // The cell holds exactly what Describe computes (shortest round-trip floats).
        float[] direct = AudioDescriptor.Describe(WavReader.Read(Path.Combine(_dir, "b_noise.wav")));
        Assert.Equal(direct, rows[1].Vector);

        using var schema = JsonDocument.Parse(File.ReadAllText(result.SchemaPath));
        Assert.Equal(Path.Combine(_dir, "out", "song_audio.schema.json"), result.SchemaPath);
        JsonElement root = schema.RootElement;
        Assert.Equal(1, root.GetProperty("formatVersion").GetInt32());
        Assert.Equal("song_audio", root.GetProperty("table").GetString());
        Assert.Equal("Songs", root.GetProperty("role").GetString());
        Assert.Equal("song_audio.csv", root.GetProperty("file").GetString());
        Assert.Equal("Csv", root.GetProperty("format").GetString());
        Assert.Equal("song_key", root.GetProperty("key").GetString());
        JsonElement key = root.GetProperty("columns")[0];
        Assert.Equal("song_key", key.GetProperty("name").GetString());
        Assert.Equal("Id", key.GetProperty("kind").GetString());
        JsonElement vector = root.GetProperty("columns")[1];
        Assert.Equal("audio_descriptor", vector.GetProperty("name").GetString());
        Assert.Equal("Vector", vector.GetProperty("kind").GetString());
        Assert.Equal(DescriptorLayout.Width, vector.GetProperty("width").GetInt32());
        string description = vector.GetProperty("description").GetString()!;
        Assert.Contains(DescriptorLayout.Version, description);
        Assert.EndsWith(string.Join(";", DescriptorLayout.Names), description);
    }

    [Fact]
    public async Task Parallel_output_is_identical_to_sequential_output()
    {
        var inputs = new List<AudioInput>();
        for (int i = 0; i < 6; i++)
        {
            MonoAudio audio = i % 2 == 0 ? Signals.Tone(300 + 200 * i, 0.4, 1.5 + i) : Signals.Noise(0.2, 1.0 + i, seed: i);
            inputs.Add(new AudioInput($"song{i}", WriteWav($"s{i}.wav", audio)));
        }

        string sequential = Path.Combine(_dir, "seq.csv");
        string parallel = Path.Combine(_dir, "par.csv");
        await AudioDescriptorWriter.DescribeAsync(inputs, sequential,
            options: new AudioDescriptorWriterOptions { MaxDegreeOfParallelism = 1 });
        await AudioDescriptorWriter.DescribeAsync(inputs, parallel,
            options: new AudioDescriptorWriterOptions { MaxDegreeOfParallelism = 4 });
        Assert.Equal(File.ReadAllBytes(sequential), File.ReadAllBytes(parallel));
        Assert.Equal(inputs.Select(i => i.SongKey), ReadTable(parallel).Select(r => r.Key));
    }

    [Fact]
    public async Task Many_more_songs_than_the_run_ahead_window_keep_input_order()
    {
        string[] files =
        [
            WriteWav("w0.wav", Signals.Tone(300, 0.5, 0.2)),
            WriteWav("w1.wav", Signals.Noise(0.3, 0.1)),
            WriteWav("w2.wav", Signals.Tone(2000, 0.2, 0.3)),
        ];
        var inputs = Enumerable.Range(0, 150).Select(i => new AudioInput($"k{i:000}", files[i % 3])).ToList();
        var completed = new List<int>();
        string csv = Path.Combine(_dir, "many.csv");
        await AudioDescriptorWriter.DescribeAsync(inputs, csv,
            new SynchronousProgress<AudioDescribeProgress>(p => completed.Add(p.Completed)),
            options: new AudioDescriptorWriterOptions { MaxDegreeOfParallelism = 3 });
        var rows = ReadTable(csv);
        Assert.Equal(inputs.Select(i => i.SongKey), rows.Select(r => r.Key));
        Assert.Equal(Enumerable.Range(1, 150), completed);
        Assert.Equal(rows[0].Vector, rows[3].Vector);
        Assert.NotEqual(rows[0].Vector, rows[1].Vector);
    }

    [Fact]
    public async Task Broken_file_fails_the_run_naming_song_and_leaves_no_partial_table()
    {
        var inputs = new List<AudioInput>
        {
            new("good", WriteWav("good.wav", Signals.Tone(440, 0.5, 1.0))),
            new("broken", Path.Combine(_dir, "broken.wav")),
        };
        File.WriteAllBytes(inputs[1].AudioPath, new WavBuilder { FormatCode = 7, BitsPerSample = 8, Data = [1] }.Build());
        string csv = Path.Combine(_dir, "table.csv");

        var e = await Assert.ThrowsAsync<AudioDescriptorException>(() =>
            AudioDescriptorWriter.DescribeAsync(inputs, csv,
                options: new AudioDescriptorWriterOptions { FfmpegPath = Path.Combine(_dir, "no-ffmpeg") }));
        Assert.Equal("broken", e.Input.SongKey);
        Assert.Contains("song 'broken'", e.Message);
        Assert.Contains(inputs[1].AudioPath, e.Message);
        Assert.Contains("unsupported WAV format code 7", e.Message);
        Assert.False(File.Exists(csv));
        Assert.Empty(Directory.EnumerateFiles(_dir, "*.partial"));
    }

    [Fact]
    public async Task Non_wav_without_ffmpeg_fails_naming_ffmpeg_and_the_debian_package()
    {
        string ogg = Path.Combine(_dir, "song.ogg");
        File.WriteAllBytes(ogg, [0x4F, 0x67, 0x67, 0x53]);
        var loader = new AudioLoader(ffmpegPath: Path.Combine(_dir, "missing", "ffmpeg"));
        var e = await Assert.ThrowsAsync<AudioFormatException>(() => loader.LoadAsync(ogg));
        Assert.Contains("needs ffmpeg, which was not found at", e.Message);
        Assert.Contains("apt-get install ffmpeg", e.Message);
        Assert.Null(FfmpegDecoder.TryLocate(searchPath: _dir));
    }

    [Fact]
    public async Task Cancelled_run_throws_and_leaves_no_table()
    {
        var inputs = Enumerable.Range(0, 3)
            .Select(i => new AudioInput($"k{i}", WriteWav($"c{i}.wav", Signals.Tone(440, 0.5, 1.0)))).ToList();
        string csv = Path.Combine(_dir, "cancelled.csv");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            AudioDescriptorWriter.DescribeAsync(inputs, csv, cancellationToken: cts.Token));
        Assert.False(File.Exists(csv));
        Assert.Empty(Directory.EnumerateFiles(_dir, "*.partial"));
    }

    [Fact]
    public async Task Duplicate_or_empty_keys_in_inputs_are_rejected_before_any_work()
    {
        string wav = WriteWav("d.wav", Signals.Tone(440, 0.5, 0.5));
        var e = await Assert.ThrowsAsync<ArgumentException>(() => AudioDescriptorWriter.DescribeAsync(
            [new AudioInput("x", wav), new AudioInput("x", wav)], Path.Combine(_dir, "dup.csv")));
        Assert.Contains("song key 'x' appears more than once (input 1)", e.Message);
        e = await Assert.ThrowsAsync<ArgumentException>(() => AudioDescriptorWriter.DescribeAsync(
            [new AudioInput(" ", wav)], Path.Combine(_dir, "empty.csv")));
        Assert.Contains("input 0", e.Message);
        Assert.Contains("has an empty song key", e.Message);
    }

    [Fact]
    public void List_file_resolves_relative_paths_and_quoted_keys()
    {
        WriteWav(Path.Combine("audio", "one.wav"), Signals.Tone(440, 0.5, 0.5));
        string two = WriteWav("two.wav", Signals.Tone(880, 0.5, 0.5));
        string list = Path.Combine(_dir, "songs.csv");
        File.WriteAllText(list,
            $"song_key,audio_path\n# comment\n\n\"key, with comma\",audio/one.wav\nsong-2,{two}\n");
        var inputs = AudioInputs.FromListFile(list);
        Assert.Equal(["key, with comma", "song-2"], inputs.Select(i => i.SongKey));
        Assert.Equal(Path.Combine(_dir, "audio", "one.wav"), inputs[0].AudioPath);
        Assert.Equal(two, inputs[1].AudioPath);
    }

    [Fact]
    public void List_file_errors_name_the_line()
    {
        string wav = WriteWav("x.wav", Signals.Tone(440, 0.5, 0.5));
        string list = Path.Combine(_dir, "bad.csv");

        File.WriteAllText(list, $"a,{wav}\nb,{wav}\na,{wav}\n");
        var dup = Assert.Throws<InvalidDataException>(() => AudioInputs.FromListFile(list));
        Assert.Contains("line 3: duplicate song key 'a' (first on line 1)", dup.Message);

        File.WriteAllText(list, $"a,{wav}\nb,missing.wav\n");
        var missing = Assert.Throws<FileNotFoundException>(() => AudioInputs.FromListFile(list));
        Assert.Contains("line 2: audio file for song 'b' not found", missing.Message);

        File.WriteAllText(list, $"a,{wav},extra\n");
        var width = Assert.Throws<InvalidDataException>(() => AudioInputs.FromListFile(list));
        Assert.Contains("line 1: expected 2 fields (song_key,audio_path), found 3", width.Message);
    }

    [Fact]
    public void Folder_with_two_files_for_one_key_is_rejected()
    {
        WriteWav("same.wav", Signals.Tone(440, 0.5, 0.5));
        File.WriteAllBytes(Path.Combine(_dir, "same.ogg"), [1]);
        var e = Assert.Throws<InvalidDataException>(() => AudioInputs.FromFolder(_dir));
        Assert.Contains("song key 'same' would come from two files", e.Message);
    }

    [Fact]
    public void Vector_cell_uses_invariant_culture_and_semicolons()
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            // A culture with a decimal comma (cloned: named cultures are unavailable in invariant mode).
            var commaCulture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            commaCulture.NumberFormat.NumberDecimalSeparator = ",";
            CultureInfo.CurrentCulture = commaCulture;
            Assert.Equal("1,5", 1.5f.ToString(CultureInfo.CurrentCulture));
            string cell = AudioDescriptorWriter.FormatVector([1.5f, -0.25f, 1e-7f]);
            Assert.Equal("1.5;-0.25;1E-07", cell);
            Assert.Equal([1.5f, -0.25f, 1e-7f], AudioDescriptorWriter.ParseVector(cell));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    /// <summary>Progress that reports on the calling thread (Progress&lt;T&gt; posts asynchronously).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
