using System.Globalization;
using System.Text;
using Federated.Data.Evaluation;

namespace Federated.Experiments;

/// <summary>One row of the results table: a method's metrics on the evaluation task, its DP budget and security notice.</summary>
public sealed record ResultRow(string Method, RecallReport Report, double? Epsilon, double? Delta, string Notice, TimeSpan WallTime);

/// <summary>
/// The results table of DESIGN.md "How quality is judged": HitRate@K, Recall@K and NDCG@K for K in {10, 50, 100},
/// one row per method, with ε spent. <see cref="ToText"/> is what the operator CLI prints; <c>queries</c> names what the
/// rows were averaged over (users, or songs for the cold-song audience table).
/// </summary>
public sealed class ResultsTable(string task, IReadOnlyList<ResultRow> rows, string queries = "users")
{
    public static readonly IReadOnlyList<int> Cutoffs = RecallMetrics.DefaultCutoffs;

    public string Task { get; } = task;
    public IReadOnlyList<ResultRow> Rows { get; } = rows;

    public ResultRow this[string method] =>
        Rows.FirstOrDefault(r => r.Method == method) ?? throw new KeyNotFoundException($"the results table has no row '{method}'");

    public ResultRow? Find(string method) => Rows.FirstOrDefault(r => r.Method == method);

    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var header = new List<string> { "method" };
        foreach (var k in Cutoffs) header.AddRange([$"HR@{k}", $"R@{k}", $"NDCG@{k}"]);
        header.AddRange(["ε", "time"]);
        var lines = new List<string[]> { header.ToArray() };
        foreach (var row in Rows)
        {
            var cells = new List<string> { row.Method };
            foreach (var k in Cutoffs)
            {
                var m = row.Report[k];
                cells.AddRange([m.HitRate.ToString("0.000", c), m.Recall.ToString("0.000", c), m.Ndcg.ToString("0.000", c)]);
            }
            cells.Add(row.Epsilon is { } e ? $"{e.ToString("0.00", c)} (δ={row.Delta?.ToString("0e0", c)})" : "-");
            cells.Add($"{row.WallTime.TotalSeconds.ToString("0", c)} s");
            lines.Add(cells.ToArray());
        }
        var widths = Enumerable.Range(0, header.Count).Select(i => lines.Max(l => l[i].Length)).ToArray();
        var text = new StringBuilder();
        text.AppendLine($"{Task}: {Rows.FirstOrDefault()?.Report.Users ?? 0} {queries}");
        foreach (var (line, index) in lines.Select((l, i) => (l, i)))
        {
            text.AppendLine("| " + string.Join(" | ", line.Select((cell, i) => i == 0 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))) + " |");
            if (index == 0) text.AppendLine("|" + string.Join("|", widths.Select((w, i) => new string('-', w + 2))) + "|");
        }
        foreach (var row in Rows.Where(r => !string.IsNullOrEmpty(r.Notice))) text.AppendLine($"{row.Method}: {row.Notice}");
        return text.ToString();
    }
}
