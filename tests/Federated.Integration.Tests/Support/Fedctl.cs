using System.Diagnostics;
using System.Reflection;

namespace Federated.Integration.Tests;

/// <summary>Runs the operator tools (fedctl, fedlocal) as their own processes, as an operator would.</summary>
public static class Fedctl
{
    private static string Tool(string name) => typeof(Fedctl).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .SingleOrDefault(a => a.Key == "ToolDll:" + name)?.Value ?? throw new InvalidOperationException($"the test assembly has no ToolDll:{name} metadata");

    /// <summary>Exit code and the output (stdout and stderr together) of <c>fedctl ARGS</c> with the fixture's address and certificates.</summary>
    public static Task<(int ExitCode, string Output)> RunAsync(LocalFederationFixture fixture, params string[] args) =>
        RunToolAsync("fedctl", ["--run-dir", fixture.RunDirectory, "--coordinator", fixture.Federation.CoordinatorAddress.ToString(), "--certs", fixture.Certificates, .. args]);

    /// <summary>Exit code and the output of <c>TOOL ARGS</c> (fedctl or fedlocal), killed after 60 s.</summary>
    public static async Task<(int ExitCode, string Output)> RunToolAsync(string tool, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Tool(tool) }.Concat(args))
            start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', args)} ran for more than 60 s");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
