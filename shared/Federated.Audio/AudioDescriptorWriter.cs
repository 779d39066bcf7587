using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Federated.Audio;

/// <summary>Progress of <see cref="AudioDescriptorWriter.DescribeAsync"/>, reported in output order.</summary>
public sealed record AudioDescribeProgress(int Completed, int Total, string SongKey, double AudioSeconds);

/// <summary>What <see cref="AudioDescriptorWriter.DescribeAsync"/> wrote.</summary>
public sealed record AudioDescribeResult(
    string CsvPath, string SchemaPath, int Songs, double AudioSeconds, TimeSpan Elapsed);

/// <summary>Options of <see cref="AudioDescriptorWriter"/>; the defaults fit the songs table.</summary>
public sealed record AudioDescriptorWriterOptions
{
    public string KeyColumn { get; init; } = "song_key";

    public string VectorColumn { get; init; } = "audio_descriptor";

    /// <summary>Table name in the schema; null uses the CSV file name without extension.</summary>
    public string? TableName { get; init; }

    /// <summary>Songs decoded and analysed at once; each worker holds one song in memory.
    /// Default: the processor count.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Explicit ffmpeg executable; null searches PATH.</summary>
    public string? FfmpegPath { get; init; }
}

/// <summary>
/// Describes many songs and writes the table <c>song_key,audio_descriptor</c>: one row per song in input order, the
/// descriptor as one cell of <see cref="DescriptorLayout.Width"/> ';'-separated invariant-culture floats, plus a
/// JSON schema beside it (<c>name.schema.json</c>). Output goes to a temporary file that replaces the target only
/// when every song succeeded, so a failed run never leaves a partial table. The first failing song stops the run
/// with an error naming the song key and file.
/// </summary>
public static class AudioDescriptorWriter
{
    public static async Task<AudioDescribeResult> DescribeAsync(
        IReadOnlyList<AudioInput> inputs,
        string outputCsv,
        IProgress<AudioDescribeProgress>? progress = null,
        CancellationToken cancellationToken = default,
        AudioDescriptorWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputCsv);
        options ??= new AudioDescriptorWriterOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDegreeOfParallelism, 1);
        CheckKeys(inputs);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        string fullCsv = Path.GetFullPath(outputCsv);
        string schemaPath = SchemaPathFor(fullCsv);
        Directory.CreateDirectory(Path.GetDirectoryName(fullCsv)!);
        string temp = fullCsv + $".{Environment.ProcessId}.partial";
        var loader = new AudioLoader(options.FfmpegPath);
        double audioSeconds = 0;
        try
        {
            var writer = new StreamWriter(temp, append: false, new UTF8Encoding(false));
            await using (writer.ConfigureAwait(false))
            {
                writer.NewLine = "\n";
                await writer.WriteLineAsync($"{Csv(options.KeyColumn)},{Csv(options.VectorColumn)}")
                    .ConfigureAwait(false);

                // Rows finish out of order; they are held until every earlier row is written. The window caps
                // how far workers may run ahead of a slow song, so held rows stay bounded; permits are taken in
                // input order before an item is handed out, so the earliest unwritten song always holds one.
                int workers = inputs.Count > 1 ? options.MaxDegreeOfParallelism : 1;
                using var window = new SemaphoreSlim(Math.Max(64, 4 * workers));
                var pending = new Dictionary<int, (string Row, double Seconds)>();
                int next = 0;
                var gate = new object();
                var parallel = new ParallelOptions
                {
                    CancellationToken = cancellationToken,
                    MaxDegreeOfParallelism = workers,
                };
                await Parallel.ForEachAsync(InWindow(inputs.Count, window, cancellationToken), parallel, async (i, ct) =>
                {
                    AudioInput input = inputs[i];
                    (float[] descriptor, double seconds) = await DescribeOneAsync(loader, input, ct)
                        .ConfigureAwait(false);
                    string row = $"{Csv(input.SongKey)},{FormatVector(descriptor)}";
                    lock (gate)
                    {
                        pending[i] = (row, seconds);
                        while (pending.Remove(next, out var ready))
                        {
#pragma warning disable CA1849 // in order under the ordering lock, into the writer's buffer; the lock cannot be held across an await
                            writer.WriteLine(ready.Row);
#pragma warning restore CA1849
                            audioSeconds += ready.Seconds;
                            next++;
                            window.Release();
                            progress?.Report(new AudioDescribeProgress(next, inputs.Count, inputs[next - 1].SongKey,
                                audioSeconds));
                        }
                    }
                }).ConfigureAwait(false);
            }

            await File.WriteAllTextAsync(schemaPath, SchemaJson(Path.GetFileName(fullCsv), options),
                cancellationToken).ConfigureAwait(false);
            File.Move(temp, fullCsv, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }

        return new AudioDescribeResult(fullCsv, schemaPath, inputs.Count, audioSeconds, clock.Elapsed);
    }

    private static async IAsyncEnumerable<int> InWindow(int count, SemaphoreSlim window,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int i = 0; i < count; i++)
        {
            await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            yield return i;
        }
    }

    /// <summary>Loads and describes one song; errors name the song key and file.</summary>
    public static async Task<(float[] Descriptor, double AudioSeconds)> DescribeOneAsync(
        AudioLoader loader, AudioInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(loader);
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            MonoAudio audio = await loader.LoadAsync(input.AudioPath, cancellationToken).ConfigureAwait(false);
            return (AudioDescriptor.Describe(audio), audio.DurationSeconds);
        }
        catch (Exception e) when (e is AudioFormatException or IOException or UnauthorizedAccessException)
        {
            throw new AudioDescriptorException(input, e);
        }
    }

    /// <summary>The schema file path written beside <paramref name="csvPath"/>: <c>x.csv</c> gives
    /// <c>x.schema.json</c>.</summary>
    public static string SchemaPathFor(string csvPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(csvPath))!,
            Path.GetFileNameWithoutExtension(csvPath) + ".schema.json");

    /// <summary>
    /// The table schema in the data library's format (Federated.Data <c>TableSchema</c>, formatVersion 1): a Songs
    /// table whose key is an Id column and whose descriptor is a Vector column of <see cref="DescriptorLayout.Width"/>
    /// floats. The vector column's description names the layout version and every element, for auditors.
    /// </summary>
    public static string SchemaJson(string csvFileName, AudioDescriptorWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(csvFileName);
        options ??= new AudioDescriptorWriterOptions();
        var schema = new JsonObject
        {
            ["formatVersion"] = 1,
            ["table"] = options.TableName ?? Path.GetFileNameWithoutExtension(csvFileName),
            ["role"] = "Songs",
            ["file"] = csvFileName,
            ["format"] = "Csv",
            ["key"] = options.KeyColumn,
            ["columns"] = new JsonArray
            {
                new JsonObject { ["name"] = options.KeyColumn, ["kind"] = "Id" },
                new JsonObject
                {
                    ["name"] = options.VectorColumn,
                    ["kind"] = "Vector",
                    ["width"] = DescriptorLayout.Width,
                    ["description"] = LayoutDescription,
                },
            },
            ["description"] = "Audio descriptors written by Federated.Audio (one row per song).",
        };
        return schema.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The vector column's description: layout version and element names in order.</summary>
    public static string LayoutDescription { get; } =
        $"audio descriptor layout {DescriptorLayout.Version} ({DescriptorLayout.FeatureCount} frame features x " +
        $"{DescriptorLayout.StatisticCount} statistics over 4-second segments); elements in order: " +
        string.Join(";", DescriptorLayout.Names);

    /// <summary>Formats a descriptor as the CSV cell: ';'-separated shortest round-trip invariant floats.</summary>
    public static string FormatVector(ReadOnlySpan<float> values)
    {
        var sb = new StringBuilder(values.Length * 12);
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException($"descriptor element {i} is not finite: {values[i]}", nameof(values));
            }

            if (i > 0)
            {
                sb.Append(';');
            }

            sb.Append(values[i].ToString("R", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    /// <summary>Parses a cell written by <see cref="FormatVector"/>.</summary>
    public static float[] ParseVector(string cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        string[] parts = cell.Split(';');
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
            {
                throw new FormatException($"vector element {i} is not a number: '{parts[i]}'");
            }
        }

        return values;
    }

    private static void CheckKeys(IReadOnlyList<AudioInput> inputs)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < inputs.Count; i++)
        {
            string key = inputs[i].SongKey;
            if (string.IsNullOrWhiteSpace(key))
            {
                throw new ArgumentException($"input {i} ({inputs[i].AudioPath}) has an empty song key", nameof(inputs));
            }

            if (!seen.Add(key))
            {
                throw new ArgumentException($"song key '{key}' appears more than once (input {i})", nameof(inputs));
            }
        }
    }

    private static string Csv(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}

/// <summary>A song could not be described; names the song key and file, with the cause inside.</summary>
public sealed class AudioDescriptorException(AudioInput input, Exception inner)
    : Exception(Compose(input, inner), inner)
{
    public AudioInput Input { get; } = input;

    // Format errors already start with the file name; other errors get it added.
    private static string Compose(AudioInput input, Exception inner) =>
        inner is AudioFormatException format && format.Source == input.AudioPath
            ? $"song '{input.SongKey}': {inner.Message}"
            : $"song '{input.SongKey}' ({input.AudioPath}): {inner.Message}";
}
