using Federated.Tests.Shared;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Federated.Learning.Tests;

/// <summary>
/// The split-training step loop survives a garbage-collector hammer: the stress command (both roles in one
/// process, two role pairs on two threads, forced collections with finalizers run) is started as a child process,
/// so a native abort shows as its exit code. Before the roles held their TorchSharp Scalars, the same loop failed
/// within about 550 steps (LibTorch's toDouble/toFloat check on a freed Scalar).
/// </summary>
public sealed partial class TorchTemporariesStressTests
{
    [Fact]
    public async Task Split_training_under_a_GC_hammer_runs_thousands_of_steps_without_a_native_failure()
    {
        var command = StressCommand();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { command, "--seconds", "110", "--steps", "2500", "--pairs", "2", "--hammers", "1" }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
        var stdout = await process.StandardOutput.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        var output = stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"the stress command exited with {process.ExitCode}:\n{Tail(output)}");
        var figures = Figures().Match(stdout);
        Assert.True(figures.Success, "no figures line:\n" + Tail(output));
        long steps = long.Parse(figures.Groups[1].Value), collections = long.Parse(figures.Groups[2].Value);
        // Enough steps and collections that the unfixed code would have failed several times over.
        Assert.True(steps >= 2000, $"only {steps} steps ran");
        Assert.True(collections >= 2000, $"only {collections} forced collections ran");
        Assert.Contains("stress: ok", stdout);
    }

    [GeneratedRegex(@"stress: (\d+) split steps in [\d.]+ s, (\d+) forced collections")]
    private static partial Regex Figures();

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];

    /// <summary>The stress command's assembly, built beside this one (same configuration).</summary>
    private static string StressCommand() =>
        BuiltTool.Find(Path.Combine("tests", "benchmarks", "Federated.Learning.Stress"), "Federated.Learning.Stress.dll").Dll;
}
