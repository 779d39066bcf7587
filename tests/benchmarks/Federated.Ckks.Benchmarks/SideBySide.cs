using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Federated.Ckks.Benchmarks;

/// <summary>
/// Runs the SEAL timing program (tools/seal-bench) and this program's `--cputime` alternately, each as a fresh
/// process pinned to one core with taskset, for several rounds, and prints per op the median over rounds of each
/// side's per-round median and the ratio ours / SEAL. Usage:
/// `--vs-seal PATH_TO_SEAL_BENCH [--rounds 5] [--core 1] [N8192] [N16384] [--cold]`.
/// </summary>
public static partial class SideBySide
{
    [GeneratedRegex(@"^\| (?<name>[^|]+?) \| (?<median>[0-9.,]+) \((?<min>[0-9.,]+)\) \|")]
    private static partial Regex RowPattern();

    [GeneratedRegex(@"per op, (?<set>N\d+)")]
    private static partial Regex SetPattern();

    public static int Run(string[] args)
    {
        string seal = Value(args, "--vs-seal") ?? throw new ArgumentException("--vs-seal needs the path of the SEAL timing program");
        if (!File.Exists(seal)) throw new ArgumentException($"--vs-seal: no SEAL timing program at {seal}");
        int rounds = int.Parse(Value(args, "--rounds") ?? "5", CultureInfo.InvariantCulture);
        string core = Value(args, "--core") ?? "1";
        if (rounds < 1) throw new ArgumentException($"--rounds must be at least 1, got {rounds}");
        var sets = args.Where(a => a is "N8192" or "N16384").DefaultIfEmpty("N8192").ToList();
        if (!args.Contains("N8192") && !args.Contains("N16384")) sets = ["N8192", "N16384"];
        bool cold = args.Contains("--cold");

        var (ourExe, ourPrefix) = SelfCommand();
        var sealRuns = new List<Dictionary<(string, string), double>>();
        var ourRuns = new List<Dictionary<(string, string), double>>();
        var order = new List<string>();
        string loadBefore = File.ReadAllText("/proc/loadavg").Trim();
        Console.WriteLine($"side by side, {rounds} rounds, pinned to core {core}, sets {string.Join(" ", sets)}, ours {(cold ? "cold" : "warmed up")}; load average at start {loadBefore}");
        var loads = new List<double> { LoadOne() };
        for (int r = 0; r < rounds; r++)
        {
            sealRuns.Add(Parse(RunPinned(core, seal, sets), order));
            loads.Add(LoadOne());
            ourRuns.Add(Parse(RunPinned(core, ourExe, [.. ourPrefix, "--cputime", .. sets, .. (cold ? new[] { "--cold" } : [])]), order));
            loads.Add(LoadOne());
            Console.WriteLine($"round {r + 1}/{rounds} done, load average {File.ReadAllText("/proc/loadavg").Trim()}");
        }

        Console.WriteLine();
        Console.WriteLine($"Thread CPU time per op, microseconds: median over {rounds} rounds of each round's median; ratio = ours / SEAL; in brackets the range of the per-round ratios.");
        Console.WriteLine($"1-minute load average during the run: {loads.Min():F2} to {loads.Max():F2} (median {Median(loads):F2}).");
        Console.WriteLine();
        Console.Write("| op |");
        foreach (var s in sets) Console.Write($" {s} SEAL / ours | ratio |");
        Console.WriteLine();
        Console.Write("|---|");
        foreach (var _ in sets) Console.Write("---|---:|");
        Console.WriteLine();
        foreach (string op in order.Distinct())
        {
            Console.Write($"| {op} |");
            foreach (var s in sets)
            {
                var key = (s, op);
                var sealValues = sealRuns.Where(d => d.ContainsKey(key)).Select(d => d[key]).ToList();
                var ourValues = ourRuns.Where(d => d.ContainsKey(key)).Select(d => d[key]).ToList();
                if (sealValues.Count == 0 || ourValues.Count == 0)
                {
                    Console.Write($" {(sealValues.Count == 0 ? "-" : Format(Median(sealValues)))} / {(ourValues.Count == 0 ? "-" : Format(Median(ourValues)))} | - |");
                    continue;
                }
                var perRound = Enumerable.Range(0, rounds)
                    .Where(i => sealRuns[i].ContainsKey(key) && ourRuns[i].ContainsKey(key))
                    .Select(i => ourRuns[i][key] / sealRuns[i][key]).ToList();
                double ratio = Median(ourValues) / Median(sealValues);
                Console.Write($" {Format(Median(sealValues))} / {Format(Median(ourValues))} | {ratio:F2} ({perRound.Min():F2}-{perRound.Max():F2}) |");
            }
            Console.WriteLine();
        }
        return 0;
    }

    private static string Format(double us) => us < 100 ? us.ToString("F1", CultureInfo.InvariantCulture) : us.ToString("N0", CultureInfo.InvariantCulture);

    private static double LoadOne() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0) return null;
        if (i + 1 >= args.Length) throw new ArgumentException($"{name} needs a value");
        return args[i + 1];
    }

    /// <summary>How to start this program again: its apphost, or `dotnet` with the assembly path.</summary>
    private static (string Exe, string[] Prefix) SelfCommand()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program's path");
        string assembly = typeof(SideBySide).Assembly.Location;
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? (process, [assembly]) : (process, []);
    }

    private static List<string> RunPinned(string core, string exe, IReadOnlyList<string> args)
    {
        var psi = new ProcessStartInfo("taskset") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(core);
        psi.ArgumentList.Add(exe);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start taskset for {exe}");
        var errTask = p.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        while (p.StandardOutput.ReadLine() is { } line) { lines.Add(line); Console.WriteLine($"  {line}"); }
        p.WaitForExit();
        string err = errTask.Result;
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} exited with {p.ExitCode}: {err}");
        return lines;
    }

    private static Dictionary<(string, string), double> Parse(List<string> lines, List<string> order)
    {
        var result = new Dictionary<(string, string), double>();
        string? set = null;
        foreach (var line in lines)
        {
            var s = SetPattern().Match(line);
            if (s.Success) { set = s.Groups["set"].Value; continue; }
            var m = RowPattern().Match(line);
            if (!m.Success || set is null) continue;
            string name = m.Groups["name"].Value.Trim();
            result[(set, name)] = double.Parse(m.Groups["median"].Value.Replace(",", ""), CultureInfo.InvariantCulture);
            order.Add(name);
        }
        if (result.Count == 0) throw new InvalidOperationException($"no timing rows in the output:\n{string.Join('\n', lines)}");
        return result;
    }
}
