using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Federated.Experiments.Reports;

/// <summary>
/// The evaluation report: HitRate@K, Recall@K and NDCG@K for K = 1..MaxK per task and method, each with a percentile
/// bootstrap interval over the task's queries (queries resampled with replacement, the same resamples for every
/// method of a task, seeded), written as <c>report.md</c>, <c>report.json</c>, one PNG per task and metric, and the
/// predictions and truth the figures come from:
/// <list type="bullet">
/// <item><c>predictions/&lt;task&gt;.tsv</c>: columns <c>method</c>, <c>query</c>, <c>rank</c>, <c>item</c> (tab-separated, with a header line), one line per ranked item (rank from 1),
/// for the scored queries only;</item>
/// <item><c>truth/&lt;task&gt;.tsv</c>: columns <c>query</c>, <c>item</c>, one line per relevant (query, item) pair.</item>
/// </list>
/// <see cref="ReadTasksAsync"/> reads those files back, so <see cref="Compute"/> on them gives <c>report.json</c>'s
/// figures again.
/// </summary>
public static class EvaluationReport
{
    public const string JsonFile = "report.json";
    public const string MarkdownFile = "report.md";
    public static readonly IReadOnlyList<int> TableCutoffs = [1, 10, 50, 100];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The figures of every task (no files).</summary>
    public static ReportFigures Compute(IReadOnlyList<ReportTask> tasks, ReportSettings? settings = null, IReadOnlyList<string>? notes = null)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        settings ??= new ReportSettings();
        settings.Validate();
        var slugs = new HashSet<string>(StringComparer.Ordinal);
        var figures = new List<TaskFigures>();
        foreach (var task in tasks)
        {
            var slug = Slug(task.Name);
            if (!slugs.Add(slug)) throw new ArgumentException($"two tasks are named '{slug}'", nameof(tasks));
            figures.Add(ComputeTask(task, slug, settings));
        }
        return new ReportFigures(ReportFigures.CurrentFormat, settings, figures, notes ?? []);
    }

    /// <summary>Computes the report and writes all its files into <paramref name="folder"/>; returns the figures.</summary>
    public static async Task<ReportFigures> WriteAsync(string folder, IReadOnlyList<ReportTask> tasks, ReportSettings? settings = null,
        IReadOnlyList<string>? notes = null, CancellationToken cancellationToken = default)
    {
        var report = Compute(tasks, settings, notes);
        Directory.CreateDirectory(folder);
        foreach (var (task, figures) in tasks.Zip(report.Tasks))
        {
            await WritePredictionsAsync(Path.Combine(folder, figures.PredictionsFile), task, cancellationToken).ConfigureAwait(false);
            await WriteTruthAsync(Path.Combine(folder, figures.TruthFile), task, cancellationToken).ConfigureAwait(false);
            ReportPlots.Write(folder, figures, report.Settings);
        }
        await File.WriteAllTextAsync(Path.Combine(folder, JsonFile), JsonSerializer.Serialize(report, Json), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(folder, MarkdownFile), Markdown(report), cancellationToken).ConfigureAwait(false);
        return report;
    }

    /// <summary>The figures as <c>report.json</c> holds them.</summary>
    public static async Task<ReportFigures> ReadFiguresAsync(string folder, CancellationToken cancellationToken = default)
    {
        var stream = File.OpenRead(Path.Combine(folder, JsonFile));
        await using var disposal = stream.ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync<ReportFigures>(stream, Json, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"{Path.Combine(folder, JsonFile)} is empty");
    }

    /// <summary>
    /// The tasks rebuilt from the report's prediction and truth files (names, kinds and method order from
    /// <c>report.json</c>; every list and relevant set from the TSV files).
    /// </summary>
    public static async Task<IReadOnlyList<ReportTask>> ReadTasksAsync(string folder, CancellationToken cancellationToken = default)
    {
        var report = await ReadFiguresAsync(folder, cancellationToken).ConfigureAwait(false);
        var tasks = new List<ReportTask>();
        foreach (var figures in report.Tasks)
        {
            var truth = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var cells in await ReadTsvAsync(Path.Combine(folder, figures.TruthFile), ["query", "item"], cancellationToken).ConfigureAwait(false))
            {
                if (!truth.TryGetValue(cells[0], out var set)) truth[cells[0]] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(cells[1]);
            }
            var lists = figures.Methods.ToDictionary(m => m.Method, _ => new Dictionary<string, List<(int Rank, string Item)>>(StringComparer.Ordinal), StringComparer.Ordinal);
            foreach (var cells in await ReadTsvAsync(Path.Combine(folder, figures.PredictionsFile), ["method", "query", "rank", "item"], cancellationToken).ConfigureAwait(false))
            {
                var method = lists.GetValueOrDefault(cells[0]) ?? throw new InvalidDataException($"{figures.PredictionsFile} names method '{cells[0]}', which report.json does not list");
                if (!method.TryGetValue(cells[1], out var list)) method[cells[1]] = list = [];
                list.Add((int.Parse(cells[2], CultureInfo.InvariantCulture), cells[3]));
            }
            tasks.Add(new ReportTask(figures.Task, figures.QueryKind, figures.ItemKind, figures.Description,
                truth.ToDictionary(p => p.Key, p => (IReadOnlySet<string>)p.Value, StringComparer.Ordinal),
                figures.Methods.Select(m => new RankedLists(m.Method, lists[m.Method].ToDictionary(p => p.Key,
                    p => (IReadOnlyList<string>)p.Value.OrderBy(e => e.Rank).Select(e => e.Item).ToArray(), StringComparer.Ordinal), m.Note)).ToArray()));
        }
        return tasks;
    }

    private static TaskFigures ComputeTask(ReportTask task, string slug, ReportSettings settings)
    {
        var queries = task.Truth.Where(p => p.Value.Count > 0).Select(p => p.Key).Order(StringComparer.Ordinal).ToArray();
        var truth = task.Truth;
        int width = 3 * settings.MaxK;
        var draws = BootstrapDraws(queries.Length, settings.Resamples, settings.Seed);
        var ones = Enumerable.Repeat(1, queries.Length).ToArray();
        var methods = new List<MethodFigures>();
        foreach (var method in task.Methods)
        {
            var rows = MetricCurves.Rows(queries, truth, method.Lists, settings.MaxK);
            var point = new double[width];
            MetricCurves.WeightedMean(rows, ones, point);
            // resamples x width, then each column's percentiles.
            var means = new double[settings.Resamples * width];
            for (int b = 0; b < settings.Resamples; b++)
                MetricCurves.WeightedMean(rows, draws[b], means.AsSpan(b * width, width));
            var low = new double[width];
            var high = new double[width];
            var column = new double[settings.Resamples];
            double tail = (1 - settings.Level) / 2;
            for (int i = 0; i < width; i++)
            {
                for (int b = 0; b < column.Length; b++) column[b] = means[b * width + i];
                Array.Sort(column);
                low[i] = Percentile(column, tail);
                high[i] = Percentile(column, 1 - tail);
            }
            MetricCurve Curve(int m) => new(point[(m * settings.MaxK)..((m + 1) * settings.MaxK)], low[(m * settings.MaxK)..((m + 1) * settings.MaxK)],
                high[(m * settings.MaxK)..((m + 1) * settings.MaxK)]);
            methods.Add(new MethodFigures(method.Method, method.Note, queries.Length, queries.Count(q => method.Lists.GetValueOrDefault(q) is { Count: > 0 }),
                Curve(0), Curve(1), Curve(2)));
        }
        var plots = MetricCurves.Metrics.Select(m => $"plots/{slug}-{m.ToLowerInvariant()}.png").ToArray();
        return new TaskFigures(task.Name, slug, task.QueryKind, task.ItemKind, task.Description, queries.Length,
            queries.Sum(q => truth[q].Count), $"predictions/{slug}.tsv", $"truth/{slug}.tsv", plots, methods);
    }

    /// <summary>How often each query is drawn in each resample (n draws with replacement per resample).</summary>
    internal static int[][] BootstrapDraws(int queries, int resamples, int seed)
    {
        var random = new Random(seed);
        var draws = new int[resamples][];
        for (int b = 0; b < resamples; b++)
        {
            var counts = draws[b] = new int[queries];
            for (int i = 0; i < queries; i++) counts[random.Next(queries)]++;
        }
        return draws;
    }

    /// <summary>Linear interpolation between order statistics (sorted values; p in [0, 1]).</summary>
    internal static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        double position = p * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(sorted.Length - 1, below + 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    private static async Task WritePredictionsAsync(string path, ReportTask task, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var queries = task.Truth.Where(p => p.Value.Count > 0).Select(p => p.Key).Order(StringComparer.Ordinal).ToArray();
        var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        await using var disposal = writer.ConfigureAwait(false);
        await writer.WriteAsync("method\tquery\trank\titem\n".AsMemory(), ct).ConfigureAwait(false);
        var line = new StringBuilder();
        foreach (var method in task.Methods)
            foreach (var query in queries)
            {
                if (method.Lists.GetValueOrDefault(query) is not { } list) continue;
                for (int r = 0; r < list.Count; r++)
                {
                    line.Clear().Append(Cell(method.Method)).Append('\t').Append(Cell(query)).Append('\t')
                        .Append((r + 1).ToString(CultureInfo.InvariantCulture)).Append('\t').Append(Cell(list[r])).Append('\n');
                    await writer.WriteAsync(line, ct).ConfigureAwait(false);
                }
            }
    }

    private static async Task WriteTruthAsync(string path, ReportTask task, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var text = new StringBuilder("query\titem\n");
        foreach (var (query, items) in task.Truth.Where(p => p.Value.Count > 0).OrderBy(p => p.Key, StringComparer.Ordinal))
            foreach (var item in items.Order(StringComparer.Ordinal))
                text.Append(Cell(query)).Append('\t').Append(Cell(item)).Append('\n');
        await File.WriteAllTextAsync(path, text.ToString(), new UTF8Encoding(false), ct).ConfigureAwait(false);
    }

    private static async Task<List<string[]>> ReadTsvAsync(string path, string[] header, CancellationToken ct)
    {
        var lines = await File.ReadAllLinesAsync(path, ct).ConfigureAwait(false);
        if (lines.Length == 0 || lines[0] != string.Join('\t', header))
            throw new InvalidDataException($"{path} does not start with the header '{string.Join(' ', header)}'");
        var rows = new List<string[]>(lines.Length - 1);
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var cells = lines[i].Split('\t');
            if (cells.Length != header.Length) throw new InvalidDataException($"{path}:{i + 1} has {cells.Length} cells, not {header.Length}");
            rows.Add(cells);
        }
        return rows;
    }

    private static string Cell(string value) =>
        value.AsSpan().IndexOfAny('\t', '\n', '\r') < 0 ? value : throw new ArgumentException($"'{value}' holds a tab or line break; ids in a report must not");

    private static string Slug(string name)
    {
        var slug = new StringBuilder();
        foreach (var c in name.ToLowerInvariant())
            slug.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        return slug.ToString().Trim('-');
    }

    /// <summary>report.md: what was evaluated, the tables at K in {1, 10, 50, 100} with intervals, the plots, the files.</summary>
    internal static string Markdown(ReportFigures report)
    {
        var c = CultureInfo.InvariantCulture;
        var s = report.Settings;
        var text = new StringBuilder();
        text.Append("# Evaluation report\n\n");
        text.Append(c, $"HitRate@K, Recall@K and NDCG@K for K = 1..{s.MaxK}, with {s.Level:P0} percentile bootstrap intervals over the ")
            .Append(c, $"queries of each task ({s.Resamples} resamples with replacement, the same resamples for every method of a task, seed {s.Seed}). ")
            .Append("Definitions: binary relevance; HitRate@K = 1 if a relevant item is in the top K; Recall@K = relevant items in the ")
            .Append("top K / relevant items; NDCG@K = Σ 1/log2(rank + 1) over relevant items in the top K / the same for an ideal list. ")
            .Append("Queries without a relevant item are not scored; a query without a list scores 0.\n\n");
        foreach (var note in report.Notes) text.Append("- ").Append(note).Append('\n');
        if (report.Notes.Count > 0) text.Append('\n');
        foreach (var task in report.Tasks)
        {
            text.Append(c, $"## {task.Task}\n\n{task.Description}\n\n");
            text.Append(c, $"{task.Queries} {task.QueryKind}s scored, {task.RelevantPairs} relevant ({task.QueryKind}, {task.ItemKind}) pairs.\n\n");
            foreach (var k in TableCutoffs.Where(k => k <= s.MaxK))
            {
                text.Append(c, $"| method (K = {k}) | HR@{k} | Recall@{k} | NDCG@{k} | {task.QueryKind}s with a list |\n|---|---|---|---|---|\n");
                foreach (var m in task.Methods)
                    text.Append(c, $"| {m.Method} | {Cell(m.HitRate, k)} | {Cell(m.Recall, k)} | {Cell(m.Ndcg, k)} | {m.QueriesWithList} |\n");
                text.Append('\n');
            }
            foreach (var m in task.Methods.Where(m => !string.IsNullOrEmpty(m.Note))) text.Append(c, $"- {m.Method}: {m.Note}\n");
            if (task.Methods.Any(m => !string.IsNullOrEmpty(m.Note))) text.Append('\n');
            foreach (var (plot, metric) in task.Plots.Zip(MetricCurves.Metrics))
                text.Append(c, $"![{task.Task}: {metric}@K]({plot})\n\n");
            text.Append(c, $"Predictions: [{task.PredictionsFile}]({task.PredictionsFile}); truth: [{task.TruthFile}]({task.TruthFile}).\n\n");
        }
        text.Append("## Files\n\n")
            .Append("- `report.json`: the settings and, per task and method, `value`, `low` and `high` arrays of each metric (index K - 1).\n")
            .Append("- `predictions/<task>.tsv`: UTF-8, tab-separated, columns `method`, `query`, `rank`, `item` after a header line; one line per ranked item, rank from 1, scored queries only.\n")
            .Append("- `truth/<task>.tsv`: columns `query`, `item` after a header line; one line per relevant pair.\n")
            .Append("- `plots/<task>-<metric>.png`: each method's curve over K with its interval as a band.\n");
        return text.ToString();

        string Cell(MetricCurve curve, int k) =>
            string.Create(c, $"{curve.Value[k - 1]:0.000} [{curve.Low[k - 1]:0.000}, {curve.High[k - 1]:0.000}]");
    }
}
