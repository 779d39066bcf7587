using System.CommandLine;
using Federated.Launcher;
using Federated.Operator;
using Spectre.Console;

namespace Federated.Local.Commands;

public static class FederationCommands
{
    public static Command Create()
    {
        var runDirectory = new Option<string>("--run-dir")
        {
            Description = "Run folder of the local federation (certificates, data, logs, pid files); fedctl's default is the same",
            DefaultValueFactory = _ => RunFolder.Default(typeof(Program).Assembly).Root,
            Recursive = true,
        };
        RunFolder Run(ParseResult result) => new(Path.GetFullPath(result.GetValue(runDirectory)!));

        var musicData = new Option<string?>("--music-data") { Description = "The music party's data folder (its *.schema.json tables: songs, audio descriptors, interactions); each party sees only its own" };
        var externalData = new Option<string?>("--external-data") { Description = "The external party's data folder (its *.schema.json user tables)" };
        var start = new Command("start", "Start coordinator, music and external hosts as background processes on loopback (mutual TLS)") { musicData, externalData };
        start.SetAction(async (result, ct) =>
        {
            var run = Run(result);
            string? Folder(Option<string?> option)
            {
                if (result.GetValue(option) is not { } value) return null;
                var full = Path.GetFullPath(value);
                if (!Directory.Exists(full)) throw new OperatorException($"{option.Name} {full} does not exist");
                if (Directory.GetFiles(full, "*.schema.json").Length == 0)
                    throw new OperatorException($"{option.Name} {full} holds no *.schema.json table (a party reads its tables through their schema files)");
                return full;
            }
            var music = Folder(musicData);
            var external = Folder(externalData);
            if (RunningHosts(run).Count > 0)
                throw new OperatorException($"a federation is already running from {run.Root} (pids: {string.Join(", ", RunningHosts(run).Select(h => h.Pid))}); `fedlocal federation stop` first");
            LocalFederation? federation = null;
            await AnsiConsole.Status().StartAsync("starting the federation", async status =>
            {
                federation = await LocalFederation.StartAsync(
                    new LocalFederationOptions(run.Root, HostBinaries.FromAssemblyMetadata(typeof(FederationCommands).Assembly))
                    {
                        ParentProcessId = null, Detached = true, MusicDataDirectory = music, ExternalDataDirectory = external,
                    },
                    new Progress<string>(s => status.Status(s)), ct);
            });
            var table = new Table().AddColumns("host", "pid", "address", "log");
            foreach (var host in federation!.Hosts.Values)
                table.AddRow(host.Name, host.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), host.Address?.ToString() ?? "", host.LogFile);
            federation.Detach();
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"federation running from [bold]{run.Root}[/]; `fedctl` talks to it by default; stop it with `fedlocal federation stop`");
            return 0;
        });

        var stop = new Command("stop", "Stop the hosts of the local federation (SIGTERM, then kill after a grace period)");
        stop.SetAction(async (result, ct) =>
        {
            var run = Run(result);
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
            var address = run.CoordinatorAddressFile;
            if (File.Exists(address))
                File.Delete(address);
            return 0;
        });
        return new Command("federation", "A local federation of the three hosts, for fedctl") { runDirectory, start, stop };
    }

    /// <summary>Hosts whose pid file names a live process.</summary>
    public static List<(string Name, int Pid, string File)> RunningHosts(RunFolder run)
    {
        var result = new List<(string, int, string)>();
        var directory = run.PidDirectory;
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
