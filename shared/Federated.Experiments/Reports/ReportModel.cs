namespace Federated.Experiments.Reports;

/// <summary>One method's ranked lists on a task: query id -> item ids, best first.</summary>
public sealed record RankedLists(string Method, IReadOnlyDictionary<string, IReadOnlyList<string>> Lists, string Note = "");

/// <summary>
/// One evaluation task of a report: the queries (users for cold-start users, songs for cold-start songs), the truth
/// (query -> relevant items; queries without a relevant item are not scored) and each method's lists.
/// </summary>
public sealed record ReportTask(
    string Name,
    string QueryKind,
    string ItemKind,
    string Description,
    IReadOnlyDictionary<string, IReadOnlySet<string>> Truth,
    IReadOnlyList<RankedLists> Methods);

/// <summary>How a report is computed: K from 1 to <see cref="MaxK"/>, percentile bootstrap intervals over queries.</summary>
public sealed record ReportSettings
{
    public int MaxK { get; init; } = 100;
    public int Resamples { get; init; } = 1000;
    public int Seed { get; init; } = 12_345;
    public double Level { get; init; } = 0.95;

    public void Validate()
    {
        if (MaxK < 1) throw new ArgumentOutOfRangeException(nameof(MaxK), MaxK, "must be positive");
        if (Resamples < 2) throw new ArgumentOutOfRangeException(nameof(Resamples), Resamples, "at least 2 resamples");
        if (Level is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Level), Level, "must be in (0, 1)");
    }
}

/// <summary>A metric at K = 1..MaxK (index K - 1) with the bootstrap interval's bounds.</summary>
public sealed record MetricCurve(double[] Value, double[] Low, double[] High);

/// <summary>One method's curves on one task.</summary>
public sealed record MethodFigures(string Method, string Note, int Queries, int QueriesWithList, MetricCurve HitRate, MetricCurve Recall, MetricCurve Ndcg)
{
    public MetricCurve this[string metric] => metric switch
    {
        "HR" => HitRate,
        "Recall" => Recall,
        "NDCG" => Ndcg,
        _ => throw new KeyNotFoundException($"no metric '{metric}'"),
    };
}

/// <summary>One task's figures, with the report's files that hold its predictions, truth and plots (relative paths).</summary>
public sealed record TaskFigures(
    string Task, string Slug, string QueryKind, string ItemKind, string Description, int Queries, int RelevantPairs,
    string PredictionsFile, string TruthFile, IReadOnlyList<string> Plots, IReadOnlyList<MethodFigures> Methods)
{
    public MethodFigures this[string method] =>
        Methods.FirstOrDefault(m => m.Method == method) ?? throw new KeyNotFoundException($"task '{Task}' has no method '{method}'");
}

/// <summary>What <c>report.json</c> holds.</summary>
public sealed record ReportFigures(int FormatVersion, ReportSettings Settings, IReadOnlyList<TaskFigures> Tasks, IReadOnlyList<string> Notes)
{
    public const int CurrentFormat = 1;

    public TaskFigures this[string task] =>
        Tasks.FirstOrDefault(t => t.Task == task) ?? throw new KeyNotFoundException($"the report has no task '{task}'");
}
