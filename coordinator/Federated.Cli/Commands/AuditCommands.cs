using System.CommandLine;
using Federated.Operator;
using Federated.Audit;
using Spectre.Console;

namespace Federated.Cli.Commands;

public static class AuditCommands
{
    public static Command Create(CommonOptions common)
    {
        var database = new Option<string?>("--db") { Description = "Audit database (SQLite); default: the local federation's", Recursive = true };
        var count = new Option<int>("--count", "-n") { Description = "Number of records", DefaultValueFactory = _ => 20 };

        var tail = new Command("tail", "Show the last records of the audit log") { count };
        tail.SetAction(result =>
        {
            var path = Database(result, database, common);
            using var log = AuditLog.Open(path);
            var n = result.GetValue(count);
            var records = log.Read(Math.Max(1, log.Count - n + 1), n);
            var table = new Table().AddColumns("#", "time (UTC)", "kind", "job", "message", "from → to", "seq", "bytes", "sha-256 / details");
            foreach (var r in records)
            {
                var e = r.Entry;
                table.AddRow(r.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Time.ToString("HH:mm:ss.fff"), e.Kind, Markup.Escape(e.JobId),
                    Markup.Escape(e.MessageType ?? ""), Markup.Escape(e.Sender is null ? "" : $"{e.Sender} → {e.Receiver}"),
                    e.Sequence?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", e.PayloadBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
                    Markup.Escape(e.PayloadSha256 is { } h ? h[..16] + "…" : e.Details ?? ""));
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"{log.Count} records in {path}");
            return 0;
        });

        var verify = new Command("verify", "Verify the hash chain of the audit log; names the first bad record");
        verify.SetAction(result =>
        {
            var path = Database(result, database, common);
            var verification = AuditVerifier.Verify(path);
            if (verification.IsValid)
            {
                AnsiConsole.MarkupLineInterpolated($"[green]audit log valid[/]: {verification.RecordsChecked} records checked in {path}");
                return 0;
            }
            AnsiConsole.MarkupLineInterpolated($"[red]audit log INVALID[/] at record {verification.FirstBadIndex?.ToString() ?? "?"}: {verification.Problem} ({path})");
            return 2;
        });
        return new Command("audit", "The coordinator's hash-chained audit log") { database, tail, verify };
    }

    private static string Database(ParseResult result, Option<string?> database, CommonOptions common)
    {
        var path = Path.GetFullPath(result.GetValue(database) ?? common.Run(result).AuditDatabase);
        if (!File.Exists(path))
            throw new OperatorException($"audit database {path} does not exist (use --db)");
        return path;
    }
}
