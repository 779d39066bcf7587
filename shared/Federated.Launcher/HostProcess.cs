using System.Diagnostics;
using System.Runtime.InteropServices;
using Federated.Core;

namespace Federated.Launcher;

/// <summary>
/// One host of a local federation running as a separate `dotnet &lt;dll&gt;` process. Its console output goes to a
/// log file; its ready file tells the address it listens on; a pid file lets another CLI invocation stop it.
/// </summary>
public sealed class HostProcess : IDisposable
{
    private readonly Process _process;

    private HostProcess(string name, Process process, string logFile, string readyFile, string pidFile)
    {
        Name = name;
        _process = process;
        LogFile = logFile;
        ReadyFile = readyFile;
        PidFile = pidFile;
    }

    public string Name { get; }
    public int ProcessId => _process.Id;
    public string LogFile { get; }
    public string ReadyFile { get; }
    public string PidFile { get; }
    public bool HasExited => _process.HasExited;
    public Uri? Address { get; private set; }

    /// <summary>Starts <c>dotnet &lt;dll&gt; args...</c>, output appended to <paramref name="logFile"/>.</summary>
    /// <param name="commandPrefix">A command the host is started through (for example <c>ip netns exec NS</c>); it must
    /// exec the rest of its command line, so the process id stays the host's. Null or empty: none.</param>
    public static HostProcess Start(string name, string dll, IReadOnlyList<string> arguments, string logFile, string readyFile,
        string pidFile, bool detached, IReadOnlyList<string>? commandPrefix = null)
    {
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{name}: host binary {dll} does not exist; build it first (dotnet build)", dll);
        PrivateFiles.CreateFolder(Path.GetDirectoryName(logFile)!);
        PrivateFiles.CreateFolder(Path.GetDirectoryName(pidFile)!);
        if (File.Exists(readyFile))
            File.Delete(readyFile);

        // The shell only sets up the redirection and then becomes the dotnet process (exec), so the pid is the host's.
        var start = new ProcessStartInfo { UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(dll)! };
        var command = new List<string>();
        if (detached && File.Exists("/usr/bin/setsid"))
            command.Add("/usr/bin/setsid");
        if (commandPrefix is not null)
            command.AddRange(commandPrefix);
        command.Add("/bin/sh");
        start.FileName = command[0];
        foreach (var part in command.Skip(1))
            start.ArgumentList.Add(part);
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("umask 077; exec \"$0\" \"$@\" >>\"$FEDERATED_HOST_LOG\" 2>&1 </dev/null"); // the log is owner-only too
        start.ArgumentList.Add(DotnetExecutable());
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["FEDERATED_HOST_LOG"] = logFile;
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment.Remove("ASPNETCORE_URLS");

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name}: could not start {dll}");
        PrivateFiles.WriteAllText(pidFile, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new HostProcess(name, process, logFile, readyFile, pidFile);
    }

    private static string DotnetExecutable()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
            return host;
        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
            return current;
        return "dotnet";
    }

    /// <summary>Waits for the ready file; fails with the tail of the log when the process exits first.</summary>
    public async Task<Uri> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (File.Exists(ReadyFile))
            {
                var ready = await HostReadyFile.ReadAsync(ReadyFile, cancellationToken).ConfigureAwait(false);
                Address = new Uri(ready.Address);
                return Address;
            }
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it was ready. Last lines of {LogFile}:\n{LogTail(20)}");
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
        throw new TimeoutException($"{Name} was not ready within {timeout.TotalSeconds:0} s. Last lines of {LogFile}:\n{LogTail(20)}");
    }

    public string LogTail(int lines)
    {
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException) { return "(no log)"; }
    }

    /// <summary>Asks the host to stop (SIGTERM), then kills the whole process tree if it has not exited in time.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited)
        {
            ProcessSignals.Terminate(_process.Id);
            using var wait = new CancellationTokenSource(grace);
            try { await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { Kill(); }
        }
        DeleteFiles();
    }

    /// <summary>Kills the process and every child of it at once (crash simulation and last-resort cleanup).</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { /* already gone */ }
    }

    private void DeleteFiles()
    {
        foreach (var file in new[] { PidFile, ReadyFile })
            if (File.Exists(file))
                File.Delete(file);
    }

    public void Dispose()
    {
        Kill();
        DeleteFiles();
        _process.Dispose();
    }
}

/// <summary>POSIX signals for graceful stops (Process.Kill sends SIGKILL).</summary>
public static partial class ProcessSignals
{
    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    /// <summary>Sends SIGTERM; returns false when the process does not exist.</summary>
    public static bool Terminate(int processId)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            try { using var p = Process.GetProcessById(processId); p.Kill(entireProcessTree: true); return true; }
            catch (ArgumentException) { return false; }
        }
        return SysKill(processId, SigTerm) == 0;
    }

    public static bool IsAlive(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
