using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Federated.Launcher;
using Federated.Operator;
using Spectre.Console;

namespace Federated.Local.Commands;

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
            var run = Path.Combine(RunFolder.FederationRoot(typeof(Program).Assembly), "bench");
            if (Directory.Exists(run))
                Directory.Delete(run, recursive: true);
            var table = new Table().AddColumns("payload", "messages", "throughput E → M (MiB/s)", "wall clock incl. job start", "round trip median (ms)");
            await using (var federation = await LocalFederation.StartAsync(new LocalFederationOptions(run, HostBinaries.FromAssemblyMetadata(typeof(BenchCommand).Assembly)), null, ct))
            {
                using var connection = OperatorConnection.Open(federation.CoordinatorAddress.ToString(), null, RunFolder.OperatorName, federation.Folder);
                await JobWaits.WaitForPartiesAsync(connection, TimeSpan.FromSeconds(60), ct);
                // Warm-up: JIT, TLS sessions, HTTP/2 windows.
                await JobWaits.RunJobAsync(connection, "stream", new Dictionary<string, string> { ["count"] = "50", ["size"] = "65536" }, TimeSpan.FromMinutes(2), ct);
                foreach (var mib in result.GetValue(sizes)!)
                {
                    var bytes = (mib * 1024 * 1024).ToString(CultureInfo.InvariantCulture);
                    AnsiConsole.MarkupLineInterpolated($"[grey]•[/] {mib} MiB payloads");
                    var started = Stopwatch.GetTimestamp();
                    var stream = await JobWaits.RunJobAsync(connection, "stream",
                        new Dictionary<string, string> { ["count"] = result.GetValue(messages).ToString(CultureInfo.InvariantCulture), ["size"] = bytes }, TimeSpan.FromMinutes(10), ct);
                    var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    var ping = await JobWaits.RunJobAsync(connection, "ping",
                        new Dictionary<string, string> { ["rounds"] = result.GetValue(rounds).ToString(CultureInfo.InvariantCulture), ["size"] = bytes }, TimeSpan.FromMinutes(10), ct);
                    string Sender(Federated.Transport.V1.JobInfo j) => j.Parties.FirstOrDefault(p => p.PartyId == RunFolder.ExternalName)?.Summary ?? j.Reason;
                    var totalMiB = (double)result.GetValue(messages) * mib;
                    if (stream.State != Federated.Transport.V1.JobState.Completed || ping.State != Federated.Transport.V1.JobState.Completed)
                        throw new OperatorException($"benchmark job failed: {stream.Reason} {ping.Reason}");
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
        bench.Subcommands.Add(CreatePsi());
        return bench;
    }

    /// <summary>
    /// `bench psi`: a psi job between the two real party hosts through the real relay, on two generated ID files of
    /// n IDs each. Reports the job's wall time, each party's PSI time, and each host's peak RSS (VmHWM) and CPU time,
    /// read from /proc just before the hosts stop.
    /// </summary>
    private static Command CreatePsi()
    {
        var ids = new Option<int>("--ids") { Description = "IDs per party", DefaultValueFactory = _ => 100_000 };
        var overlap = new Option<double>("--overlap") { Description = "Fraction of each party's IDs that the other party also holds", DefaultValueFactory = _ => 0.5 };
        var chunk = new Option<int>("--chunk-points") { Description = "Points per PSI message", DefaultValueFactory = _ => 65536 };
        var psi = new Command("psi", "Measure a PSI job between the two party hosts through the coordinator's relay on loopback") { ids, overlap, chunk };
        psi.SetAction(async (result, ct) =>
        {
            var n = result.GetValue(ids);
            var fraction = result.GetValue(overlap);
            if (n < 1 || n > 1 << 25 || fraction is < 0 or > 1)
                throw new OperatorException($"--ids must be in 1..{1 << 25} and --overlap in 0..1 (got {n}, {fraction})");
            var shared = (int)Math.Round(n * fraction);
            var run = Path.Combine(RunFolder.FederationRoot(typeof(Program).Assembly), "bench-psi");
            if (Directory.Exists(run))
                Directory.Delete(run, recursive: true);

            // Each party's own data folder is the party agent's default, `data` beside its state folder.
            AnsiConsole.MarkupLineInterpolated($"[grey]•[/] writing {n:N0} IDs per party ({shared:N0} shared)");
            WriteIds(Path.Combine(run, RunFolder.MusicName, "data", "ids.txt"), 0, n);
            WriteIds(Path.Combine(run, RunFolder.ExternalName, "data", "ids.txt"), n - shared, n);

            var loadBefore = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
            var table = new Table().AddColumns("host", "PSI time (job summary)", "peak RSS (VmHWM)", "CPU time (user+sys, whole process)");
            double wall;
            Federated.Transport.V1.JobInfo job;
            await using (var federation = await LocalFederation.StartAsync(new LocalFederationOptions(run, HostBinaries.FromAssemblyMetadata(typeof(BenchCommand).Assembly)), null, ct))
            {
                using var connection = OperatorConnection.Open(federation.CoordinatorAddress.ToString(), null, RunFolder.OperatorName, federation.Folder);
                await JobWaits.WaitForPartiesAsync(connection, TimeSpan.FromSeconds(60), ct);
                AnsiConsole.MarkupLine("[grey]•[/] running the psi job");
                var started = Stopwatch.GetTimestamp();
                job = await JobWaits.RunJobAsync(connection, "psi",
                    new Dictionary<string, string> { ["idFile"] = "ids.txt", ["chunkPoints"] = result.GetValue(chunk).ToString(CultureInfo.InvariantCulture) },
                    TimeSpan.FromMinutes(60), ct);
                wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
                foreach (var name in new[] { RunFolder.MusicName, RunFolder.ExternalName, RunFolder.CoordinatorName })
                {
                    var pid = federation.Hosts[name].ProcessId;
                    var summary = job.Parties.FirstOrDefault(p => p.PartyId == name)?.Summary;
                    var psiTime = summary is null ? "" : Regex.Match(summary, @"; ([\d.]+ s);").Groups[1].Value;
                    table.AddRow(name, psiTime, $"{PeakRssMiB(pid):0} MiB", $"{CpuSeconds(pid):0.0} s");
                }
            }
            if (job.State != Federated.Transport.V1.JobState.Completed)
                throw new OperatorException($"psi job {job.JobId} {job.State}: {job.Reason}");

            var music = Path.Combine(run, RunFolder.MusicName, "state", "psi", job.JobId, "aligned-keys.txt");
            var external = Path.Combine(run, RunFolder.ExternalName, "state", "psi", job.JobId, "aligned-keys.txt");
            var rows = File.ReadLines(music).LongCount();
            var same = FileSha256(music) == FileSha256(external);
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"{n:N0} IDs per party, {fraction:P0} overlap: intersection {rows:N0} (expected {shared:N0}), same rows in the same order at both parties: {same}");
            AnsiConsole.MarkupLineInterpolated($"job wall time (create to completed, through the relay): {wall:0.0} s; relayed {job.Relay.MessagesRelayed} messages, {job.Relay.BytesRelayed / (1024.0 * 1024):0.0} MiB");
            AnsiConsole.MarkupLineInterpolated($"machine: {Environment.ProcessorCount} cores; load average before: {loadBefore}; after: {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a")}; run folder {run}");
            return rows == shared && same ? 0 : 1;
        });
        return psi;
    }

    /// <summary>Writes IDs first..first+count-1 (same spelling at both parties, so the shared range matches).</summary>
    private static void WriteIds(string path, int first, int count)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false), 1 << 16);
        for (var i = first; i < first + count; i++)
            writer.WriteLine($"user-{i:D9}");
    }

    /// <summary>Peak resident set size of a live process (VmHWM in /proc/&lt;pid&gt;/status), in MiB; NaN where unknown.</summary>
    private static double PeakRssMiB(int pid)
    {
        var status = $"/proc/{pid}/status";
        if (!File.Exists(status)) return double.NaN;
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : long.Parse(Regex.Match(line, @"\d+").Value, CultureInfo.InvariantCulture) / 1024.0;
    }

    /// <summary>User + system CPU seconds of a live process (/proc/&lt;pid&gt;/stat fields 14 and 15); NaN where unknown.</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat)) return double.NaN;
        var fields = File.ReadAllText(stat);
        var rest = fields[(fields.LastIndexOf(')') + 2)..].Split(' '); // after "pid (comm) ": field 3 is rest[0]
        var ticks = long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture);
        return ticks / 100.0; // USER_HZ is 100 on Linux
    }

    private static string FileSha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }
}
