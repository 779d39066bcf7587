using System.CommandLine;
using Federated.Hosting.Local;
using Spectre.Console;

namespace Federated.Cli.Commands;

public static class FederationCommands
{
    public static Command Create(CommonOptions common)
    {
        var start = new Command("start", "Start coordinator, music and external hosts as background processes on loopback (mutual TLS)");
        start.SetAction(async (result, ct) =>
        {
            var run = common.Run(result);
            if (RunningHosts(run).Count > 0)
                throw new CliException($"a federation is already running from {run} (pids: {string.Join(", ", RunningHosts(run).Select(h => h.Pid))}); `fedctl federation stop` first");
            LocalFederation? federation = null;
            await AnsiConsole.Status().StartAsync("starting the federation", async status =>
            {
                federation = await LocalFederation.StartAsync(
                    new LocalFederationOptions(run, HostBinaries.FromAssemblyMetadata(typeof(FederationCommands).Assembly)) { ParentProcessId = null, Detached = true },
                    new Progress<string>(s => status.Status(s)), ct);
            });
            var table = new Table().AddColumns("host", "pid", "address", "log");
            foreach (var host in federation!.Hosts.Values)
                table.AddRow(host.Name, host.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), host.Address?.ToString() ?? "", host.LogFile);
            federation.Detach();
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"federation running from [bold]{run}[/]; stop it with `fedctl federation stop`");
            return 0;
        });

        var stop = new Command("stop", "Stop the hosts of the local federation (SIGTERM, then kill after a grace period)");
        stop.SetAction(async (result, ct) =>
        {
            var run = common.Run(result);
            var hosts = RunningHosts(run);
            if (hosts.Count == 0)
            {
                AnsiConsole.MarkupLine("no federation is running");
                return 0;
            }
            foreach (var (name, pid, file) in hosts)
            {
                ProcessSignals.Terminate(pid);
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (ProcessSignals.IsAlive(pid) && DateTime.UtcNow < deadline)
                    await Task.Delay(100, ct);
                if (ProcessSignals.IsAlive(pid))
                {
                    using var process = System.Diagnostics.Process.GetProcessById(pid);
                    process.Kill(entireProcessTree: true);
                }
                File.Delete(file);
                AnsiConsole.MarkupLineInterpolated($"stopped {name} (pid {pid})");
            }
            var address = LocalFederation.AddressFileOf(run);
            if (File.Exists(address))
                File.Delete(address);
            return 0;
        });
        return new Command("federation", "A local federation of the three hosts") { start, stop };
    }

    /// <summary>Hosts whose pid file names a live process.</summary>
    public static List<(string Name, int Pid, string File)> RunningHosts(string run)
    {
        var result = new List<(string, int, string)>();
        var directory = Path.Combine(run, "pids");
        if (!Directory.Exists(directory))
            return result;
        foreach (var file in Directory.GetFiles(directory, "*.pid"))
        {
            if (int.TryParse(File.ReadAllText(file).Trim(), out var pid) && ProcessSignals.IsAlive(pid))
                result.Add((Path.GetFileNameWithoutExtension(file), pid, file));
            else
                File.Delete(file);
        }
        return result;
    }
}
