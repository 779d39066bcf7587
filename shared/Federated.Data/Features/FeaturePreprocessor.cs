using System.Text.Json;
using System.Text.Json.Serialization;
using Federated.Data.Rows;
using Federated.Data.Schema;

namespace Federated.Data.Features;

/// <summary>Fitting choices for <see cref="FeaturePreprocessor.Fit"/>.</summary>
public sealed record PreprocessorOptions
{
    /// <summary>A category seen fewer times than this in training goes to the out-of-vocabulary bucket.</summary>
    public int MinCount { get; init; } = 1;

    /// <summary>At most this many categories per column (the most frequent; ties by ordinal order).</summary>
    public int MaxVocabulary { get; init; } = 100_000;
}

/// <summary>The fitted state of one feature column.</summary>
public sealed record FittedColumn
{
    public required string Name { get; init; }
    public required ColumnKind Kind { get; init; }
    public bool Nullable { get; init; }

    /// <summary>Categorical / multi-categorical: category → id is index + <see cref="FeaturePreprocessor.FirstCategoryId"/>.</summary>
    public string[]? Vocabulary { get; init; }

    /// <summary>Numeric, flag, timestamp: one mean and std; vector: one per component.</summary>
    public double[]? Mean { get; init; }
    public double[]? Std { get; init; }

    /// <summary>Offset of this column's first dense slot (numeric-like and vector columns).</summary>
    public int DenseOffset { get; init; } = -1;

    /// <summary>Dense slot of the missing indicator (nullable numeric-like and vector columns), or -1.</summary>
    public int MissingSlot { get; init; } = -1;

    /// <summary>Slot among the categorical or multi-categorical columns, or -1.</summary>
    public int Slot { get; init; } = -1;
}

/// <summary>
/// Turns validated rows into numbers for tensors, with every statistic fitted on training rows only:
/// categorical → int id (0 = missing, 1 = out-of-vocabulary, 2.. = vocabulary; strict columns use the declared
/// categories); multi-categorical → a bag of such ids; numeric, flag and timestamp → z-scored floats (missing → 0
/// plus a 0/1 missing-indicator slot for nullable columns); vectors → per-component z-scored floats. Serialise with
/// <see cref="Save"/> so the fitted state travels with the model.
/// </summary>
public sealed class FeaturePreprocessor
{
    public const int MissingId = 0;
    public const int OutOfVocabularyId = 1;
    public const int FirstCategoryId = 2;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private Dictionary<string, int>[]? _ids;
    private int[]? _schemaIndex;
    private TableSchema? _schemaOf;   // the schema _schemaIndex was resolved against

    public int FormatVersion { get; init; } = 1;

    /// <summary>The table the state was fitted on (checked when encoding).</summary>
    public required string Table { get; init; }

    public required FittedColumn[] Columns { get; init; }

    /// <summary>Number of training rows the statistics came from.</summary>
    public long FittedRows { get; init; }

    /// <summary>Width of the dense float block per row.</summary>
    public int DenseWidth { get; init; }

    public int CategoricalCount { get; init; }

    public int MultiCategoricalCount { get; init; }

    /// <summary>Embedding-table size per categorical slot (vocabulary + missing + out-of-vocabulary).</summary>
    [JsonIgnore]
    public int[] CategoricalCardinalities => Columns.Where(c => c.Kind == ColumnKind.Categorical).OrderBy(c => c.Slot)
        .Select(c => c.Vocabulary!.Length + FirstCategoryId).ToArray();

    [JsonIgnore]
    public int[] MultiCategoricalCardinalities => Columns.Where(c => c.Kind == ColumnKind.MultiCategorical).OrderBy(c => c.Slot)
        .Select(c => c.Vocabulary!.Length + FirstCategoryId).ToArray();

    /// <summary>Fits on the given training rows (pass only training rows; the caller decides the split).</summary>
    public static FeaturePreprocessor Fit(TableSchema schema, IEnumerable<DataRow> trainingRows, PreprocessorOptions? options = null)
    {
        var fitter = new Fitter(schema, options ?? new PreprocessorOptions());
        foreach (var row in trainingRows) fitter.Add(row);
        return fitter.Build();
    }

    /// <summary><see cref="Fit"/> over a streamed table (for example a <see cref="Reading.TableReader"/>).</summary>
    public static async Task<FeaturePreprocessor> FitAsync(TableSchema schema, IAsyncEnumerable<DataRow> trainingRows, PreprocessorOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var fitter = new Fitter(schema, options ?? new PreprocessorOptions());
        await foreach (var row in trainingRows.WithCancellation(cancellationToken).ConfigureAwait(false)) fitter.Add(row);
        return fitter.Build();
    }

    /// <summary>Vocabulary counts and running statistics of the feature columns, one row at a time.</summary>
    private sealed class Fitter
    {
        private readonly TableSchema _schema;
        private readonly PreprocessorOptions _options;
        private readonly (ColumnSpec Spec, int Index)[] _features;
        private readonly Dictionary<string, long>?[] _counts;
        private readonly RunningStats?[] _stats;
        private long _rows;

        public Fitter(TableSchema schema, PreprocessorOptions options)
        {
            _schema = schema;
            _options = options;
            _features = schema.Columns.Select((c, i) => (Spec: c, Index: i)).Where(x => x.Spec.IsFeature).ToArray();
            _counts = _features.Select(f => f.Spec.Kind is ColumnKind.Categorical or ColumnKind.MultiCategorical && !f.Spec.Strict
                ? new Dictionary<string, long>(StringComparer.Ordinal) : null).ToArray();
            _stats = _features.Select(f => f.Spec.Kind switch
            {
                ColumnKind.Numeric or ColumnKind.Flag or ColumnKind.Timestamp => new RunningStats(1),
                ColumnKind.Vector => new RunningStats(f.Spec.Width!.Value),
                _ => null,
            }).ToArray();
        }

        public void Add(DataRow row)
        {
            if (!ReferenceEquals(row.Schema, _schema) && row.Schema.Table != _schema.Table)
                throw new ArgumentException($"row of table '{row.Schema.Table}' given to a preprocessor for '{_schema.Table}'");
            _rows++;
            for (var f = 0; f < _features.Length; f++)
            {
                var (spec, c) = _features[f];
                switch (spec.Kind)
                {
                    case ColumnKind.Categorical when _counts[f] is { } cc:
                        if (row.GetText(c) is { } v) cc[v] = cc.GetValueOrDefault(v) + 1;
                        break;
                    case ColumnKind.MultiCategorical when _counts[f] is { } mc:
                        foreach (var t in row.GetTokens(c)) mc[t] = mc.GetValueOrDefault(t) + 1;
                        break;
                    case ColumnKind.Numeric or ColumnKind.Flag or ColumnKind.Timestamp:
                        var x = row.GetNumber(c);
                        if (!double.IsNaN(x)) _stats[f]!.Add(x);
                        break;
                    case ColumnKind.Vector:
                        if (row.GetVector(c) is { } vec) _stats[f]!.Add(vec);
                        break;
                }
            }
        }

        public FeaturePreprocessor Build()
        {
            var fitted = new FittedColumn[_features.Length];
            int dense = 0, categorical = 0, multi = 0;
            for (var f = 0; f < _features.Length; f++)
            {
                var (spec, _) = _features[f];
                switch (spec.Kind)
                {
                    case ColumnKind.Categorical or ColumnKind.MultiCategorical:
                        var vocabulary = spec.Strict
                            ? spec.Categories!.Distinct(StringComparer.Ordinal).ToArray()
                            : _counts[f]!.Where(kv => kv.Value >= _options.MinCount)
                                .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
                                .Take(_options.MaxVocabulary).Select(kv => kv.Key).ToArray();
                        fitted[f] = new FittedColumn
                        {
                            Name = spec.Name, Kind = spec.Kind, Nullable = spec.Nullable, Vocabulary = vocabulary,
                            Slot = spec.Kind == ColumnKind.Categorical ? categorical++ : multi++,
                        };
                        break;
                    case ColumnKind.Numeric or ColumnKind.Flag or ColumnKind.Timestamp or ColumnKind.Vector:
                        var s = _stats[f]!;
                        var offset = dense;
                        dense += s.Width;
                        fitted[f] = new FittedColumn
                        {
                            Name = spec.Name, Kind = spec.Kind, Nullable = spec.Nullable,
                            Mean = s.Means(), Std = s.StandardDeviations(), DenseOffset = offset,
                            MissingSlot = spec.Nullable ? dense++ : -1,
                        };
                        break;
                    default:
                        throw new SchemaException($"column '{spec.Name}' of kind {spec.Kind} cannot be a feature; set \"feature\": false");
                }
            }

            return new FeaturePreprocessor
            {
                Table = _schema.Table, Columns = fitted, FittedRows = _rows,
                DenseWidth = dense, CategoricalCount = categorical, MultiCategoricalCount = multi,
            };
        }
    }

    /// <summary>Id of a category in a fitted column (missing and out-of-vocabulary ids included).</summary>
    public int CategoryId(int fittedColumn, string? value)
    {
        if (value is null) return MissingId;
        Prepare(null);
        return _ids![fittedColumn].TryGetValue(value, out var id) ? id : OutOfVocabularyId;
    }

    /// <summary>Encodes one row into a fresh <see cref="FeatureMatrix"/> of one row.</summary>
    public FeatureMatrix Encode(DataRow row) => EncodeAll([row]);

    /// <summary>Encodes rows into flat, tensor-ready arrays (row-major).</summary>
    public FeatureMatrix EncodeAll(IEnumerable<DataRow> rows)
    {
        var builder = new MatrixBuilder(this);
        foreach (var row in rows) builder.Add(row);
        return builder.Build();
    }

    /// <summary><see cref="EncodeAll"/> over a streamed table (for example a <see cref="Reading.TableReader"/>).</summary>
    public async Task<FeatureMatrix> EncodeAllAsync(IAsyncEnumerable<DataRow> rows, CancellationToken cancellationToken = default)
    {
        var builder = new MatrixBuilder(this);
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false)) builder.Add(row);
        return builder.Build();
    }

    /// <summary>The growing arrays of a <see cref="FeatureMatrix"/>, one encoded row at a time.</summary>
    private sealed class MatrixBuilder
    {
        private readonly FeaturePreprocessor _p;
        private readonly List<string?> _keys = new();
        private readonly List<int> _categorical = new();
        private readonly List<float> _dense = new();
        private readonly List<int>[] _multiIds;
        private readonly List<int>[] _multiOffsets;
        private readonly float[] _denseRow;
        private readonly int[] _categoricalRow;

        public MatrixBuilder(FeaturePreprocessor p)
        {
            _p = p;
            _multiIds = Enumerable.Range(0, p.MultiCategoricalCount).Select(_ => new List<int>()).ToArray();
            _multiOffsets = Enumerable.Range(0, p.MultiCategoricalCount).Select(_ => new List<int> { 0 }).ToArray();
            _denseRow = new float[p.DenseWidth];
            _categoricalRow = new int[p.CategoricalCount];
        }

        public void Add(DataRow row)
        {
            _p.Prepare(row.Schema);
            _keys.Add(row.Key);
            _p.EncodeInto(row, _categoricalRow, _denseRow, _multiIds);
            _categorical.AddRange(_categoricalRow);
            _dense.AddRange(_denseRow);
            for (var m = 0; m < _p.MultiCategoricalCount; m++) _multiOffsets[m].Add(_multiIds[m].Count);
        }

        public FeatureMatrix Build() => new()
        {
            Keys = _keys.ToArray(), RowCount = _keys.Count, CategoricalWidth = _p.CategoricalCount, DenseWidth = _p.DenseWidth,
            Categorical = _categorical.ToArray(), Dense = _dense.ToArray(),
            MultiCategorical = _multiIds.Select((ids, m) => new TokenBags(_multiOffsets[m].ToArray(), ids.ToArray())).ToArray(),
        };
    }

    /// <summary>Encodes one row into caller-provided buffers (for batch builders that avoid allocations).</summary>
    public void EncodeInto(DataRow row, Span<int> categorical, Span<float> dense, IReadOnlyList<List<int>> multiIds)
    {
        Prepare(row.Schema);
        if (categorical.Length != CategoricalCount || dense.Length != DenseWidth)
            throw new ArgumentException($"buffers must be {CategoricalCount} ids and {DenseWidth} floats wide");
        dense.Clear();
        for (var f = 0; f < Columns.Length; f++)
        {
            var col = Columns[f];
            var c = _schemaIndex![f];
            switch (col.Kind)
            {
                case ColumnKind.Categorical:
                    var text = row.GetText(c);
                    categorical[col.Slot] = text is null ? MissingId : _ids![f].TryGetValue(text, out var id) ? id : OutOfVocabularyId;
                    break;
                case ColumnKind.MultiCategorical:
                    foreach (var token in row.GetTokens(c))
                        multiIds[col.Slot].Add(_ids![f].TryGetValue(token, out var tid) ? tid : OutOfVocabularyId);
                    break;
                case ColumnKind.Vector:
                    if (row.GetVector(c) is { } v)
                        for (var i = 0; i < v.Length; i++) dense[col.DenseOffset + i] = (float)((v[i] - col.Mean![i]) / col.Std![i]);
                    else if (col.MissingSlot >= 0) dense[col.MissingSlot] = 1;
                    break;
                default:
                    var x = row.GetNumber(c);
                    if (!double.IsNaN(x)) dense[col.DenseOffset] = (float)((x - col.Mean![0]) / col.Std![0]);
                    else if (col.MissingSlot >= 0) dense[col.MissingSlot] = 1;
                    break;
            }
        }
    }

    private void Prepare(TableSchema? schema)
    {
        _ids ??= Columns.Select(c => c.Vocabulary is null
            ? new Dictionary<string, int>()
            : c.Vocabulary.Select((v, i) => (v, i)).ToDictionary(x => x.v, x => x.i + FirstCategoryId, StringComparer.Ordinal)).ToArray();
        if (schema is null || ReferenceEquals(schema, _schemaOf)) return;
        if (schema.Table != Table) throw new ArgumentException($"rows of table '{schema.Table}' given to a preprocessor fitted on '{Table}'");
        _schemaIndex = Columns.Select(c => schema.IndexOf(c.Name) is var i and >= 0 && schema.Columns[i].Kind == c.Kind
            ? i
            : throw new SchemaException($"the fitted column '{c.Name}' ({c.Kind}) is not in table '{schema.Table}' with that kind")).ToArray();
        _schemaOf = schema;
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public void Save(string path) => File.WriteAllText(path, ToJson());

    public static FeaturePreprocessor FromJson(string json) =>
        JsonSerializer.Deserialize<FeaturePreprocessor>(json, JsonOptions) ?? throw new InvalidDataException("empty preprocessor state");

    public static FeaturePreprocessor Load(string path) => FromJson(File.ReadAllText(path));

    /// <summary>Welford mean and variance per component.</summary>
    private sealed class RunningStats(int width)
    {
        private readonly double[] _mean = new double[width];
        private readonly double[] _m2 = new double[width];
        private long _n;

        public int Width => width;

        public void Add(double x)
        {
            _n++;
            var d = x - _mean[0];
            _mean[0] += d / _n;
            _m2[0] += d * (x - _mean[0]);
        }

        public void Add(float[] v)
        {
            _n++;
            for (var i = 0; i < v.Length; i++)
            {
                var d = v[i] - _mean[i];
                _mean[i] += d / _n;
                _m2[i] += d * (v[i] - _mean[i]);
            }
        }

        public double[] Means() => (double[])_mean.Clone();

        public double[] StandardDeviations() =>
            _m2.Select(m => _n > 1 && Math.Sqrt(m / (_n - 1)) is var s && s > 1e-12 ? s : 1.0).ToArray();
    }
}
