using System.CommandLine;
using Federated.Operator;
using Federated.Audit;
using Federated.Security;
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

        var receipts = new Option<string[]>("--receipts")
        {
            Description = "Parties' receipts files or folders (every audit-receipts.jsonl under a folder): check that the log still holds every chain head they signed",
            AllowMultipleArgumentsPerToken = true,
        };
        var authority = new Option<string?>("--ca")
        {
            Description = "The federation's CA certificate (PEM) that the receipts' party certificates must chain to; default: ca.crt.pem in the certificate folder",
        };
        var verify = new Command("verify", "Verify the hash chain of the audit log, and with --receipts that it agrees with the parties' signed receipts; names the first bad record or receipt")
        {
            receipts, authority,
        };
        verify.SetAction(result =>
        {
            var path = Database(result, database, common);
            var verification = AuditVerifier.Verify(path);
            if (!verification.IsValid)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]audit log INVALID[/] at record {verification.FirstBadIndex?.ToString() ?? "?"}: {verification.Problem} ({path})");
                return 2;
            }
            AnsiConsole.MarkupLineInterpolated($"[green]audit log valid[/]: {verification.RecordsChecked} records checked in {path}");
            var receiptPaths = result.GetValue(receipts) ?? [];
            if (receiptPaths.Length == 0)
                return 0;

            var collected = ReadReceipts(receiptPaths);
            var validator = LoadAuthority(result, authority, common);
            var check = AuditReceiptVerifier.Verify(path, verification, collected, validator);
            var parties = string.Join(", ", check.ReceiptsByParty.Select(p => $"{p.Key} {p.Value}"));
            if (!check.IsValid)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]receipts DISAGREE[/] with the audit log at record {check.RecordIndex?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}: {check.Problem}");
                AnsiConsole.MarkupLineInterpolated($"{check.ReceiptsChecked} of {collected.Count} receipts agreed before it ({(parties.Length == 0 ? "none" : parties)})");
                return 2;
            }
            AnsiConsole.MarkupLineInterpolated($"[green]receipts agree[/]: {check.ReceiptsChecked} receipts checked ({parties}); the log holds every chain head they signed");
            return 0;
        });
        var jobArgument = new Argument<string>("JOB") { Description = "The job (coordinator job id)" };
        var output = new Option<string>("--out") { Description = "Folder for the report files", DefaultValueFactory = _ => "." };
        var report = new Command("report", "Write a job's privacy audit report (Markdown and JSON) from the audit log") { jobArgument, output };
        report.SetAction(result =>
        {
            var path = Database(result, database, common);
            var jobId = result.GetValue(jobArgument)!;
            AuditJobReport built;
            try
            {
                built = AuditJobReport.Build(path, jobId);
            }
            catch (KeyNotFoundException e)
            {
                throw new OperatorException(e.Message);
            }
            var (markdown, json) = AuditReportWriter.Write(built, Path.GetFullPath(result.GetValue(output)!));
            var t = built.Traffic;
            AnsiConsole.MarkupLineInterpolated($"job {jobId} ({built.Job.Kind ?? "kind not recorded"}, {built.Job.State ?? "state not recorded"}): {t.Messages} messages, {t.Bytes} bytes relayed");
            foreach (var d in t.ByDirection)
                AnsiConsole.MarkupLineInterpolated($"  {d.Direction}: {d.Messages} messages, {d.Bytes} bytes");
            if (built.Chain.IsValid)
                AnsiConsole.MarkupLineInterpolated($"[green]audit log valid[/]: {built.Chain.RecordsChecked} records checked in {path}");
            else
                AnsiConsole.MarkupLineInterpolated($"[red]audit log INVALID[/] at record {built.Chain.FirstBadIndex?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}: {built.Chain.Problem} ({path})");
            AnsiConsole.MarkupLineInterpolated($"wrote {markdown}");
            AnsiConsole.MarkupLineInterpolated($"wrote {json}");
            return built.Chain.IsValid ? 0 : 2;
        });
        var budget = new Command("budget", "Each partner's label-DP budget recomputed from the audit log's privacy events: budget, charged, reserved, left, and its training runs");
        budget.SetAction(result =>
        {
            var path = Database(result, database, common);
            var partners = AuditPrivacyLedger.Read(path);
            if (partners.Count == 0)
            {
                AnsiConsole.MarkupLineInterpolated($"no train job has a privacy ledger entry in {path}");
                return 0;
            }
            static string F(double? v) => v is { } x ? x.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : "unlimited";
            var table = new Table().AddColumns("partner", "budget ε", "charged ε", "reserved ε", "left ε", "training runs");
            foreach (var p in partners)
                table.AddRow(Markup.Escape(p.Partner), F(p.Budget), F(p.Charged), F(p.Reserved), F(p.Left),
                    Markup.Escape(string.Join(", ", p.Runs.Select(r => $"{r.TrainingRun} {r.State}{(r.State == "charged" ? " " + F(r.Epsilon) : r.State == "reserved" ? " cap " + F(r.Cap) : "")}"))));
            AnsiConsole.Write(table);
            return 0;
        });
        return new Command("audit", "The coordinator's hash-chained audit log") { database, tail, verify, report, budget };
    }

    private static IReadOnlyList<AuditReceiptEntry> ReadReceipts(IReadOnlyList<string> paths)
    {
        IReadOnlyList<AuditReceiptEntry> collected;
        try
        {
            collected = AuditReceiptFile.Collect(paths);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new OperatorException(e.Message);
        }
        if (collected.Count == 0)
            throw new OperatorException($"no receipts in {string.Join(", ", paths.Select(Path.GetFullPath))} (a folder is searched for {AuditReceiptFile.FileName})");
        return collected;
    }

    private static CertificateValidator LoadAuthority(ParseResult result, Option<string?> authority, CommonOptions common)
    {
        var path = Path.GetFullPath(result.GetValue(authority)
            ?? CertificateFiles.CertificatePath(result.GetValue(common.Certificates) ?? common.Run(result).Certificates, CertificateFiles.AuthorityName));
        if (!File.Exists(path))
            throw new OperatorException($"CA certificate {path} does not exist (use --ca)");
        try
        {
            return new CertificateValidator(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(path)));
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new OperatorException($"CA certificate {path} cannot be used: {e.Message}");
        }
    }

    private static string Database(ParseResult result, Option<string?> database, CommonOptions common)
    {
        var path = Path.GetFullPath(result.GetValue(database) ?? common.Run(result).AuditDatabase);
        if (!File.Exists(path))
            throw new OperatorException($"audit database {path} does not exist (use --db)");
        return path;
    }
}
