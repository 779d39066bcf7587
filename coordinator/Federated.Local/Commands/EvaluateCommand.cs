using System.CommandLine;
using System.Globalization;
using Federated.Data.Reading;
using Federated.Experiments.Reports;
using Federated.Operator;
using Federated.PartyJobs;
using Spectre.Console;

namespace Federated.Local.Commands;

/// <summary>
/// <c>fedlocal evaluate</c>: scores ranked lists (M's <c>rankings.tsv</c> of a train job, or any file in its format)
/// against a held-out interactions table at M, beside a popularity baseline from M's training interactions, with 95%
/// bootstrap intervals over users; writes the evaluation report (Markdown, JSON, plots, predictions and truth).
/// Runs on M's machine over M's own files; nothing leaves it.
/// </summary>
public static class EvaluateCommand
{
    public static Command Create()
    {
        var truth = new Option<string>("--truth")
        {
            Description = "Schema file (*.schema.json) of the held-out interactions table: its user and song roles are the relevant pairs",
            Required = true,
        };
        var rankings = new Option<string[]>("--rankings")
        {
            Description = "METHOD=FILE: ranked lists, one line per user 'user<TAB>song,song,...' (a train job's rankings.tsv at M); repeatable",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var popularity = new Option<string?>("--popularity-from") { Description = "Schema file of M's training interactions: adds the popularity baseline (most played songs first, the same list for every user)" };
        var output = new Option<string>("--out") { Description = "Folder for the report", DefaultValueFactory = _ => "evaluation" };
        var resamples = new Option<int>("--resamples") { Description = "Bootstrap resamples", DefaultValueFactory = _ => 1000 };
        var maxK = new Option<int>("--max-k") { Description = "Largest cut-off K of the curves", DefaultValueFactory = _ => 100 };
        var command = new Command("evaluate", "Score ranked lists against a held-out interactions table at M (HR, Recall, NDCG @K with 95% bootstrap intervals), beside popularity; writes the report")
        {
            truth, rankings, popularity, output, resamples, maxK,
        };
        command.SetAction(async (result, ct) =>
        {
            var relevant = await ReadPairsAsync(result.GetValue(truth)!, ct);
            if (relevant.Count == 0) throw new OperatorException($"{result.GetValue(truth)}: the table holds no interactions to score against");
            int k = result.GetValue(maxK);
            var methods = new List<RankedLists>();
            foreach (var pair in result.GetValue(rankings) ?? [])
            {
                var split = pair.Split('=', 2);
                if (split.Length != 2 || split[0].Length == 0 || split[1].Length == 0)
                    throw new OperatorException($"--rankings '{pair}' is not METHOD=FILE");
                var path = Path.GetFullPath(split[1]);
                if (!File.Exists(path)) throw new OperatorException($"--rankings {split[0]}: {path} does not exist");
                IReadOnlyDictionary<string, IReadOnlyList<string>> lists;
                try { lists = TrainJobFolders.ReadRankings(path); }
                catch (InvalidDataException e) { throw new OperatorException($"--rankings {split[0]}: {e.Message}"); }
                if (methods.Any(m => m.Method == split[0])) throw new OperatorException($"--rankings names method '{split[0]}' twice");
                methods.Add(new RankedLists(split[0], lists, $"from {Path.GetFileName(path)}"));
            }
            if (result.GetValue(popularity) is { } train)
            {
                var counts = new Dictionary<string, int>(StringComparer.Ordinal);
                foreach (var (_, songs) in await ReadPairsAsync(train, ct))
                    foreach (var song in songs)
                        counts[song] = counts.GetValueOrDefault(song) + 1;
                var top = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(k).Select(c => c.Key).ToList();
                methods.Add(new RankedLists("popularity", relevant.Keys.ToDictionary(u => u, _ => (IReadOnlyList<string>)top, StringComparer.Ordinal),
                    "the most played songs of the training interactions, one list for all"));
            }
            var task = new ReportTask("held-out users", "user", "song",
                $"users of {Path.GetFileName(result.GetValue(truth))} and the songs they played there", relevant, methods);
            var settings = new ReportSettings { MaxK = k, Resamples = result.GetValue(resamples) };
            try { settings.Validate(); }
            catch (ArgumentOutOfRangeException e) { throw new OperatorException($"--{(e.ParamName == nameof(ReportSettings.MaxK) ? "max-k" : "resamples")}: {e.Message}"); }
            var folder = Path.GetFullPath(result.GetValue(output)!);
            var figures = await EvaluationReport.WriteAsync(folder, [task], settings, cancellationToken: ct);
            var table = new Table().AddColumns("method", "users with a list", "HR@10", "HR@50", "Recall@50", "NDCG@50");
            string At(MetricCurve c, int at) => at <= c.Value.Length
                ? Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{c.Value[at - 1]:0.000} [{c.Low[at - 1]:0.000}, {c.High[at - 1]:0.000}]"))
                : "-";
            var scored = figures.Tasks[0];
            foreach (var m in scored.Methods)
                table.AddRow(Markup.Escape(m.Method), $"{m.QueriesWithList} of {m.Queries}", At(m.HitRate, 10), At(m.HitRate, 50), At(m.Recall, 50), At(m.Ndcg, 50));
            AnsiConsole.MarkupLineInterpolated($"{scored.Queries} held-out users with {scored.RelevantPairs} relevant pairs; 95% bootstrap intervals over users ({settings.Resamples} resamples)");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"wrote the report to {folder}");
            return 0;
        });
        return command;
    }

    /// <summary>User -> songs of an interactions table, read through its schema (roles user and song).</summary>
    private static async Task<Dictionary<string, IReadOnlySet<string>>> ReadPairsAsync(string schemaPath, CancellationToken ct)
    {
        var full = Path.GetFullPath(schemaPath);
        if (!File.Exists(full)) throw new OperatorException($"schema file {full} does not exist");
        var pairs = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        try
        {
            await using var reader = await TableReader.OpenFromSchemaFileAsync(full, cancellationToken: ct);
            await foreach (var row in reader.WithCancellation(ct))
                foreach (var i in Interactions.Project([row])) // one row at a time: the reader may reuse a row's buffers
                {
                    if (!pairs.TryGetValue(i.User, out var songs)) pairs[i.User] = songs = new HashSet<string>(StringComparer.Ordinal);
                    songs.Add(i.Song);
                }
        }
        catch (Federated.Core.InputRejectedException e)
        {
            throw new OperatorException($"{full}: {e.Message}");
        }
        return pairs.ToDictionary(p => p.Key, p => (IReadOnlySet<string>)p.Value, StringComparer.Ordinal);
    }
}
