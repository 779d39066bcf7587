using System.Diagnostics;
using System.Text.RegularExpressions;
using Federated.Tests.Shared;

namespace Federated.Data.Tests;

/// <summary>
/// The CI smoke run of the fuzz targets (tests/fuzz): every seed input of tests/fuzz/corpus and then a few seconds of
/// mutations per target, in a child process; a target that throws anything but its declared refusals, or hangs, fails
/// the run and saves the input. Long campaigns run with AFL++ through tests/fuzz/run.sh.
/// </summary>
public sealed partial class FuzzSmokeTests
{
    [Fact]
    public async Task Every_fuzz_target_survives_its_corpus_and_a_short_mutation_run()
    {
        var (root, dll) = Paths();
        var findings = Path.Combine(Path.GetTempPath(), "federated-fuzz-smoke-" + Guid.NewGuid().ToString("N")[..8]);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "smoke", "all", "--seconds", "4", "--seed", "20261207", "--corpus", Path.Combine(root, "tests", "fuzz", "corpus"), "--findings", findings })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var text = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"fuzz smoke run exited {process.ExitCode}:\n{text}");
        Assert.Contains("smoke: ok", text);
        var rows = Row().Matches(text).ToDictionary(m => m.Groups["target"].Value, m => long.Parse(m.Groups["execs"].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture));
        foreach (var target in new[] { "csv", "table", "schema", "wav", "ckks", "split-message", "parquet", "psi-message", "relay-frames", "handshake" })
        {
            Assert.True(rows.TryGetValue(target, out var executions), $"no figures for target {target}:\n{text}");
            Assert.True(executions >= 20, $"target {target} ran only {executions} inputs");
        }
    }

    [GeneratedRegex(@"^\| (?<target>[a-z-]+) \| (?<corpus>\d+) \| (?<execs>[\d,]+) \|", RegexOptions.Multiline)]
    private static partial Regex Row();

    private static (string Root, string Dll) Paths() => BuiltTool.Find(Path.Combine("tests", "fuzz", "Federated.Fuzz"), "Federated.Fuzz.dll");
}
