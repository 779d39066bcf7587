using System.Text.Json;
using Federated.Data.Features;
using Federated.Data.Rows;
using Federated.Data.Schema;
using Federated.Learning.Model;
using Federated.Training.Data;
using static TorchSharp.torch;

namespace Federated.Training.Jobs;

/// <summary>
/// A song M has never seen, turned into an item vector of one model version: its songs-table row (metadata cells and
/// the audio descriptor) encoded with the encoding fitted on M's songs table, then the version's item tower with the
/// audio encoder's output as the ID embedding (docs/protocol.md §4.2), L2-normalised like every published item vector.
/// <para>
/// What it needs is kept per version (<see cref="Write"/>): the item tower's shape and weights, the songs schema and the
/// fitted encoding (vocabularies, means and standard deviations). A request's <c>metadata</c> names feature columns of
/// the songs table and gives each as its CSV cell text (multi-categorical tokens separated by '|', numbers in invariant
/// culture); the audio descriptor fills the table's first vector column. A missing non-nullable column, a column the
/// table has no feature for, a value outside a strict column's declared categories, a descriptor of the wrong width and
/// a non-finite number are refused (<see cref="ArgumentException"/> naming the field); a value of an open column that
/// M's songs never had maps to the out-of-vocabulary id, as it would for a new row of M's own table.
/// </para>
/// One instance serves one version; calls are serialised (one forward pass of a small MLP each).
/// </summary>
public sealed class NewSongEncoder : IDisposable
{
    public const string TowerFile = "item-tower.bin", ShapeFile = "item-tower.json", SchemaFile = "songs.schema.json", EncodingFile = "songs.encoding.json";
    private const int CurrentFormat = 1;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly object _gate = new();
    private readonly ItemTower _tower;
    private readonly TableSchema _schema;
    private readonly FeaturePreprocessor _encoding;
    private readonly CellValidator _validator;
    private readonly int _audioColumn;
    private readonly HashSet<string> _metadataColumns;

    private NewSongEncoder(ItemTower tower, TableSchema schema, FeaturePreprocessor encoding)
    {
        _tower = tower;
        _schema = schema;
        _encoding = encoding;
        _validator = new CellValidator(schema);
        _audioColumn = Enumerable.Range(0, schema.Columns.Count).FirstOrDefault(i => schema.Columns[i].IsFeature && schema.Columns[i].Kind == ColumnKind.Vector, -1);
        _metadataColumns = schema.Columns.Where((c, i) => c.IsFeature && i != _audioColumn && i != schema.KeyIndex).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        AudioWidth = _audioColumn < 0 ? 0 : schema.Columns[_audioColumn].Width!.Value;
    }

    /// <summary>The feature columns a request's metadata may name (every feature of the songs table but the audio descriptor).</summary>
    public IReadOnlyCollection<string> MetadataColumns => _metadataColumns;

    /// <summary>Width of the audio descriptor a request must give (0 when the songs table has no vector column).</summary>
    public int AudioWidth { get; }

    /// <summary>Width of the vectors (the version's d).</summary>
    public int Dimensions { get; private init; }

    /// <summary>Writes what a version needs to embed new songs into <paramref name="folder"/> (created; files replaced).</summary>
    public static void Write(string folder, MusicTopModel top, MusicPartyData data)
    {
        ArgumentNullException.ThrowIfNull(top);
        ArgumentNullException.ThrowIfNull(data);
        Directory.CreateDirectory(folder);
        top.Items.save(Path.Combine(folder, TowerFile));
        File.WriteAllBytes(Path.Combine(folder, ShapeFile),
            JsonSerializer.SerializeToUtf8Bytes(new TowerShape(CurrentFormat, top.Options.Items, top.Options.InteractiveWidth), Json));
        data.SongsSchema.Save(Path.Combine(folder, SchemaFile));
        data.SongsPreprocessor.Save(Path.Combine(folder, EncodingFile));
    }

    /// <summary>Opens what <see cref="Write"/> wrote; <see cref="InvalidDataException"/> when a file is missing or does not fit the others.</summary>
    public static NewSongEncoder Load(string folder)
    {
        foreach (var name in new[] { TowerFile, ShapeFile, SchemaFile, EncodingFile })
            if (!File.Exists(Path.Combine(folder, name))) throw new InvalidDataException($"new-song encoder {folder}: {name} is missing");
        var shape = JsonSerializer.Deserialize<TowerShape>(File.ReadAllBytes(Path.Combine(folder, ShapeFile)), Json)
            ?? throw new InvalidDataException($"new-song encoder {folder}: {ShapeFile} is empty");
        if (shape.FormatVersion != CurrentFormat)
            throw new InvalidDataException($"new-song encoder {folder}: format {shape.FormatVersion}, this build reads {CurrentFormat}");
        var schema = TableSchema.Load(Path.Combine(folder, SchemaFile));
        var encoding = FeaturePreprocessor.Load(Path.Combine(folder, EncodingFile));
        int dense = encoding.DenseWidth + encoding.MultiCategoricalCardinalities.Sum();
        if (!encoding.CategoricalCardinalities.SequenceEqual(shape.Items.MetadataCardinalities) || dense != shape.Items.AudioWidth)
            throw new InvalidDataException($"new-song encoder {folder}: the songs encoding ({encoding.CategoricalCount} categorical columns, {dense} dense inputs) does not fit the item tower ({shape.Items.MetadataCardinalities.Count}, {shape.Items.AudioWidth})");
        // Building a module draws from torch's process-wide generator: behind the gate, so a training job's seeded build is not disturbed.
        var tower = TorchGate.Run(() => new ItemTower(shape.Items, shape.OutputWidth));
        try
        {
            tower.load(Path.Combine(folder, TowerFile));
            tower.eval();
        }
        catch
        {
            tower.Dispose();
            throw;
        }
        return new NewSongEncoder(tower, schema, encoding) { Dimensions = shape.OutputWidth };
    }

    /// <summary>The L2-normalised item vector of a new song. Errors name the field: <c>new_song.metadata[column]</c> or <c>new_song.audio_descriptor</c>.</summary>
    public float[] Encode(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<float> audioDescriptor)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(audioDescriptor);
        foreach (var name in metadata.Keys.Order(StringComparer.Ordinal))
            if (!_metadataColumns.Contains(name))
                throw new ArgumentException($"new_song.metadata names '{Clip(name)}', which is not a metadata column of M's songs table (its columns: {string.Join(", ", _metadataColumns.Order(StringComparer.Ordinal))})", "new_song.metadata");
        var row = new DataRow(_schema);
        for (int c = 0; c < _schema.Columns.Count; c++)
        {
            var spec = _schema.Columns[c];
            if (!spec.IsFeature || c == _schema.KeyIndex) continue;
            if (c == _audioColumn)
            {
                if (_validator.SetVector(c, audioDescriptor.ToArray(), row) is { } audioError)
                    throw new ArgumentException($"new_song.audio_descriptor: {audioError.Reason}", "new_song.audio_descriptor");
                continue;
            }
            var cell = metadata.TryGetValue(spec.Name, out var value) ? value : "";
            if (_validator.ParseCsv(c, cell, row) is { } error)
                throw new ArgumentException(metadata.ContainsKey(spec.Name)
                    ? $"new_song.metadata['{spec.Name}']: {error.Reason}"
                    : $"new_song.metadata['{spec.Name}'] is missing: the column is not nullable", $"new_song.metadata['{spec.Name}']");
        }
        if (_audioColumn < 0 && audioDescriptor.Count > 0)
            throw new ArgumentException($"new_song.audio_descriptor has {audioDescriptor.Count} values, but M's songs table has no vector column", "new_song.audio_descriptor");

        lock (_gate)
        {
            var encoded = EncodedTable.From(_encoding, _encoding.Encode(row));
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var ids = tensor(encoded.Categorical, new long[] { 1, encoded.CategoricalWidth }, ScalarType.Int64);
            var dense = tensor(encoded.Dense, new long[] { 1, encoded.DenseWidth }, ScalarType.Float32);
            var vector = nn.functional.normalize(_tower.ForwardWithAudioAsId(ids, dense), p: 2, dim: 1);
            var values = vector.contiguous().data<float>().ToArray();
            foreach (var v in values)
                if (!float.IsFinite(v)) throw new ArgumentException("new_song: its features give a non-finite item vector", "new_song");
            return values;
        }
    }

    /// <summary>
    /// A row of a songs table in the form <see cref="Encode"/> takes: every feature cell but the vector column as its
    /// CSV text (multi-categorical tokens joined by '|', numbers round-trip in invariant culture), the first vector
    /// column as the audio descriptor. What a catalogue client sends for a song as it arrives.
    /// </summary>
    public static (Dictionary<string, string> Metadata, float[] AudioDescriptor) CellsOf(DataRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        float[] audio = [];
        bool audioTaken = false;
        for (int c = 0; c < row.Schema.Columns.Count; c++)
        {
            var spec = row.Schema.Columns[c];
            if (!spec.IsFeature || c == row.Schema.KeyIndex) continue;
            switch (spec.Kind)
            {
                case ColumnKind.Vector when !audioTaken:
                    audio = row.GetVector(c)?.ToArray() ?? [];
                    audioTaken = true;
                    break;
                case ColumnKind.Vector:
                    break;
                case ColumnKind.MultiCategorical:
                    metadata[spec.Name] = string.Join('|', row.GetTokens(c));
                    break;
                case ColumnKind.Categorical:
                    if (row.GetText(c) is { } text) metadata[spec.Name] = text;
                    break;
                default:
                    var number = row.GetNumber(c);
                    if (!double.IsNaN(number)) metadata[spec.Name] = number.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                    break;
            }
        }
        return (metadata, audio);
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

    public void Dispose() => _tower.Dispose();

    private sealed record TowerShape(int FormatVersion, ItemTowerOptions Items, int OutputWidth);
}
