using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Federated.Hosting.Local;
using Spectre.Console;

namespace Federated.Cli.Commands;

/// <summary>
/// Relay benchmark on loopback through the real coordinator: throughput (stream of sealed messages from external to
/// music) and round-trip latency (sealed ping-pong) for each payload size. Prints figures; asserts nothing.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var sizes = new Option<int[]>("--sizes-mib") { Description = "Payload sizes in MiB", DefaultValueFactory = _ => [1, 16], AllowMultipleArgumentsPerToken = true };
        var messages = new Option<int>("--messages") { Description = "Messages per throughput run", DefaultValueFactory = _ => 64 };
        var rounds = new Option<int>("--rounds") { Description = "Round trips per latency run", DefaultValueFactory = _ => 10 };
        var bench = new Command("bench", "Measure relay throughput (MiB/s) and round-trip latency through the coordinator on loopback") { sizes, messages, rounds };
        bench.SetAction(async (result, ct) =>
        {
            var run = Path.Combine(CliPaths.FederationRoot(), "bench");
            if (Directory.Exists(run))
                Directory.Delete(run, recursive: true);
            var table = new Table().AddColumns("payload", "messages", "throughput E → M (MiB/s)", "wall clock incl. job start", "round trip median (ms)");
            await using (var federation = await LocalFederation.StartAsync(new LocalFederationOptions(run, HostBinaries.FromAssemblyMetadata(typeof(BenchCommand).Assembly)), null, ct))
            {
                using var connection = OperatorSession.Open(federation.CoordinatorAddress.ToString(), federation.CertificateDirectory, LocalFederation.OperatorName, run);
                await FederationSteps.WaitForPartiesAsync(connection, TimeSpan.FromSeconds(60), ct);
                // Warm-up: JIT, TLS sessions, HTTP/2 windows.
                await FederationSteps.RunJobAsync(connection, "stream", new Dictionary<string, string> { ["count"] = "50", ["size"] = "65536" }, TimeSpan.FromMinutes(2), ct);
                foreach (var mib in result.GetValue(sizes)!)
                {
                    var bytes = (mib * 1024 * 1024).ToString(CultureInfo.InvariantCulture);
                    AnsiConsole.MarkupLineInterpolated($"[grey]•[/] {mib} MiB payloads");
                    var started = Stopwatch.GetTimestamp();
                    var stream = await FederationSteps.RunJobAsync(connection, "stream",
                        new Dictionary<string, string> { ["count"] = result.GetValue(messages).ToString(CultureInfo.InvariantCulture), ["size"] = bytes }, TimeSpan.FromMinutes(10), ct);
                    var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    var ping = await FederationSteps.RunJobAsync(connection, "ping",
                        new Dictionary<string, string> { ["rounds"] = result.GetValue(rounds).ToString(CultureInfo.InvariantCulture), ["size"] = bytes }, TimeSpan.FromMinutes(10), ct);
                    string Sender(Federated.Transport.V1.JobInfo j) => j.Parties.FirstOrDefault(p => p.PartyId == LocalFederation.ExternalName)?.Summary ?? j.Reason;
                    var totalMiB = (double)result.GetValue(messages) * mib;
                    if (stream.State != Federated.Transport.V1.JobState.Completed || ping.State != Federated.Transport.V1.JobState.Completed)
                        throw new CliException($"benchmark job failed: {stream.Reason} {ping.Reason}");
                    var throughput = Regex.Match(Sender(stream), @"\(([\d.]+) MiB/s").Groups[1].Value;
                    var median = Regex.Match(Sender(ping), @"median ([\d.]+) ms").Groups[1].Value;
                    table.AddRow($"{mib} MiB", result.GetValue(messages).ToString(CultureInfo.InvariantCulture), throughput,
                        $"{wall:0.00} s ({totalMiB / wall:0.0} MiB/s)", $"{median} ({result.GetValue(rounds)} round trips)");
                }
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"machine: {Environment.ProcessorCount} cores; run folder {run}");
            return 0;
        });
        return bench;
    }
}
