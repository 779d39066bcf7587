using System.CommandLine;
using System.Globalization;
using Federated.Audit;
using Federated.Hosting.Local;
using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.V1;
using Spectre.Console;

namespace Federated.Cli.Commands;

/// <summary>
/// The main job: builds nothing itself (the CLI build built the hosts), starts the three hosts as separate processes
/// on loopback with mutual TLS and fresh development certificates, waits for both parties to register, runs a
/// sealed ping-pong between them through the relay, stops everything, verifies the audit log, prints a summary.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var rounds = new Option<int>("--rounds") { Description = "Ping-pong round trips", DefaultValueFactory = _ => 3 };
        var demo = new Command("demo", "Main job: start coordinator + both parties on loopback (mTLS), sealed ping-pong through the relay, verify the audit log") { rounds };
        demo.SetAction(async (result, ct) =>
        {
            var run = Path.Combine(CliPaths.FederationRoot(), "demo");
            if (FederationCommands.RunningHosts(run).Count > 0)
                throw new CliException($"another demo is running from {run}");
            if (Directory.Exists(run))
                Directory.Delete(run, recursive: true);

            var binaries = HostBinaries.FromAssemblyMetadata(typeof(DemoCommand).Assembly);
            LocalFederation? federation = null;
            var hostRows = new List<(string Name, int Pid, string Address)>();
            IReadOnlyList<PartyInfo> parties = [];
            JobInfo? job = null;
            // Last resort: if the CLI is torn down, do not leave hosts behind (they also watch this process).
            EventHandler onExit = (_, _) => { foreach (var h in federation?.Hosts.Values ?? []) h.Kill(); };
            AppDomain.CurrentDomain.ProcessExit += onExit;
            try
            {
                await AnsiConsole.Status().Spinner(Spinner.Known.Dots).StartAsync("starting", async status =>
                {
                    void Step(string text) { status.Status(text); AnsiConsole.MarkupLineInterpolated($"[grey]•[/] {text}"); }
                    federation = await LocalFederation.StartAsync(new LocalFederationOptions(run, binaries), new Progress<string>(Step), ct);
                    hostRows.AddRange(federation.Hosts.Values.Select(h => (h.Name, h.ProcessId, h.Address?.ToString() ?? "")));

                    using var connection = OperatorSession.Open(federation.CoordinatorAddress.ToString(), federation.CertificateDirectory, LocalFederation.OperatorName, run);
                    Step("waiting for both parties to register");
                    parties = await FederationSteps.WaitForPartiesAsync(connection, TimeSpan.FromSeconds(60), ct);
                    Step($"running job 'ping' ({result.GetValue(rounds)} sealed round trips through the relay)");
                    job = await FederationSteps.RunJobAsync(connection, "ping",
                        new Dictionary<string, string> { ["rounds"] = result.GetValue(rounds).ToString(CultureInfo.InvariantCulture) }, TimeSpan.FromSeconds(120), ct);
                    Step("stopping the hosts");
                });
            }
            finally
            {
                if (federation is not null)
                    await federation.DisposeAsync();
                AppDomain.CurrentDomain.ProcessExit -= onExit;
            }

            var leftOver = hostRows.Where(h => ProcessSignals.IsAlive(h.Pid)).ToList();
            var auditPath = Path.Combine(run, LocalFederation.CoordinatorName, "data", "audit.db");
            var verification = AuditVerifier.Verify(auditPath);
            long relayRecords;
            using (var log = AuditLog.Open(auditPath))
                relayRecords = log.Read(1, int.MaxValue).Count(r => r.Entry.Kind == AuditEntry.RelayKind && r.Entry.JobId == job!.JobId);

            var hosts = new Table().Title("hosts (separate processes, mutual TLS)").AddColumns("host", "pid", "address", "after the demo");
            foreach (var (name, pid, address) in hostRows)
                hosts.AddRow(name, pid.ToString(CultureInfo.InvariantCulture), address, leftOver.Any(l => l.Pid == pid) ? "[red]still running[/]" : "[green]stopped[/]");
            AnsiConsole.Write(hosts);
            AnsiConsole.Write(PartiesCommands.Table(parties).Title("party registry"));
            AnsiConsole.Write(JobsCommands.Table([job!]).Title("job"));
            AnsiConsole.Write(JobsCommands.ReportsTable(job!));
            var summary = new Table().Title("checks").AddColumns("check", "result");
            var jobOk = job!.State == JobState.Completed;
            summary.AddRow("sealed ping-pong through the relay", jobOk ? "[green]completed[/]" : $"[red]{Markup.Escape(JobsCommands.StateText(job.State) + " " + job.Reason)}[/]");
            summary.AddRow("relayed messages audited", $"{relayRecords} relay records for {job.Relay?.MessagesRelayed ?? 0} relayed messages");
            summary.AddRow("audit log hash chain", verification.IsValid
                ? $"[green]valid[/] ({verification.RecordsChecked} records)"
                : $"[red]INVALID at record {verification.FirstBadIndex}: {Markup.Escape(verification.Problem ?? "")}[/]");
            summary.AddRow("processes left behind", leftOver.Count == 0 ? "[green]none[/]" : $"[red]{string.Join(", ", leftOver.Select(l => $"{l.Name} ({l.Pid})"))}[/]");
            summary.AddRow("run folder (certificates, logs, audit log)", Markup.Escape(run));
            AnsiConsole.Write(summary);

            var ok = jobOk && verification.IsValid && leftOver.Count == 0 && relayRecords == (long)(job.Relay?.MessagesRelayed ?? 0) && relayRecords > 0;
            AnsiConsole.MarkupLine(ok ? "[green bold]demo passed[/]" : "[red bold]demo FAILED[/]");
            return ok ? 0 : 1;
        });
        return demo;
    }
}
