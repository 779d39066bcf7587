using System.Diagnostics;
using Federated.Launcher;

namespace Federated.Integration.Tests;

/// <summary>Starts the coordinator with settings it must refuse, and returns its exit code and output once it has exited.</summary>
public static class RefusedStart
{
    public static async Task<(int ExitCode, string Output)> CoordinatorAsync(string what, params string[] settings)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(HostBinaries.FromAssemblyMetadata(typeof(RefusedStart).Assembly).Coordinator);
        foreach (var setting in settings)
            start.ArgumentList.Add(setting);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); Assert.Fail($"the coordinator started {what}"); }
        return (process.ExitCode, await stderr + await stdout);
    }
}
