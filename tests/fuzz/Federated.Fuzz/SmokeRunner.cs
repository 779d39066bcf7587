using System.Diagnostics;
using System.Globalization;

namespace Federated.Fuzz;

/// <summary>
/// An in-process mutational fuzzer for the CI smoke run and for machines without AFL++: every corpus input, then
/// random mutations of them (bit and byte flips, interesting values, block insertion, deletion, duplication, splicing)
/// until the time is up. An exception the target does not declare as a refusal, or an input running longer than the
/// hang limit, is a finding: the input is saved and the run fails.
/// </summary>
public static class SmokeRunner
{
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(10);
    private const int MaxInputBytes = 64 * 1024;

    public static int Run(string[] args, TextWriter output)
    {
        if (args.Length == 0) throw new ArgumentException("smoke needs a target name or 'all'");
        double seconds = 10;
        string corpus = Path.Combine(AppContext.BaseDirectory, "corpus");
        string findingsRoot = Path.Combine(Path.GetTempPath(), "federated-fuzz-findings");
        int seed = Environment.TickCount;
        for (int i = 1; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--corpus": corpus = Value(); break;
                case "--findings": findingsRoot = Value(); break;
                case "--seed": seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown smoke option '{args[i]}'");
            }
        }
        var targets = args[0] == "all" ? FuzzTargets.All : [FuzzTargets.Get(args[0])];
        output.WriteLine($"smoke: {targets.Count} target(s), {seconds:0.#} s each, seed {seed}, corpus {corpus}");
        output.WriteLine("| target | corpus inputs | executions | exec/s | accepted | refused | findings |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        int totalFindings = 0;
        foreach (var target in targets)
            totalFindings += RunTarget(target, Path.Combine(corpus, target.Name), Path.Combine(findingsRoot, target.Name), seconds, seed, output);
        output.WriteLine(totalFindings == 0 ? "smoke: ok" : $"smoke: {totalFindings} finding(s) under {findingsRoot}");
        return totalFindings == 0 ? 0 : 1;
    }

    private static int RunTarget(FuzzTarget target, string corpusFolder, string findingsFolder, double seconds, int seed, TextWriter output)
    {
        var inputs = Directory.Exists(corpusFolder)
            ? Directory.EnumerateFiles(corpusFolder).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList()
            : [];
        if (inputs.Count == 0) inputs.Add([]);
        int corpusCount = inputs.Count;
        var random = new Random(seed ^ target.Name.GetHashCode(StringComparison.Ordinal));
        long executions = 0, accepted = 0, refused = 0;
        int findings = 0;
        var clock = Stopwatch.StartNew();
        int next = 0;
        while (next < corpusCount || clock.Elapsed.TotalSeconds < seconds)
        {
            byte[] input = next < corpusCount ? inputs[next++] : Mutate(inputs[random.Next(inputs.Count)], inputs, random);
            executions++;
            var outcome = Execute(target, input);
            if (outcome is null) { accepted++; if (inputs.Count < 4096 && random.Next(16) == 0) inputs.Add(input); }
            else if (outcome.Value.Refused) refused++;
            else
            {
                findings++;
                Directory.CreateDirectory(findingsFolder);
                var file = Path.Combine(findingsFolder, $"finding-{findings:D3}.bin");
                File.WriteAllBytes(file, input);
                output.WriteLine($"FINDING {target.Name}: {outcome.Value.What} (input saved to {file})");
                if (findings >= 5) break;
            }
        }
        double rate = executions / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        output.WriteLine($"| {target.Name} | {corpusCount} | {executions:N0} | {rate:N0} | {accepted:N0} | {refused:N0} | {findings} |");
        return findings;
    }

    /// <summary>Null when the target accepted the input; otherwise whether it was a declared refusal and what happened.</summary>
    private static (bool Refused, string What)? Execute(FuzzTarget target, byte[] input)
    {
        Exception? failure = null;
        var run = Task.Factory.StartNew(() =>
        {
            try { target.Run(input); }
            catch (Exception e) { failure = e; }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!run.Wait(HangLimit)) return (false, $"no answer after {HangLimit.TotalSeconds:0} s (a hang)");
        if (failure is null) return null;
        return target.IsRefusal(failure) ? (true, failure.Message) : (false, failure.ToString());
    }

    private static readonly byte[] Interesting = [0, 1, 0x7F, 0x80, 0xFF, (byte)',', (byte)'"', (byte)'\n', (byte)'\r', (byte)'{', (byte)'}', (byte)':'];

    public static byte[] Mutate(byte[] source, IReadOnlyList<byte[]> pool, Random random)
    {
        var data = new List<byte>(source);
        int rounds = 1 + random.Next(4);
        for (int r = 0; r < rounds; r++)
        {
            int at = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(8))
            {
                case 0 when data.Count > 0: data[at] ^= (byte)(1 << random.Next(8)); break;
                case 1 when data.Count > 0: data[at] = (byte)random.Next(256); break;
                case 2 when data.Count > 0: data[at] = Interesting[random.Next(Interesting.Length)]; break;
                case 3 when data.Count > 3:
                {
                    // A 32-bit little- or big-endian field set to an edge value (lengths and counts are the usual victims).
                    int pos = random.Next(data.Count - 3);
                    uint value = random.Next(5) switch { 0 => 0, 1 => 0xFFFFFFFF, 2 => 0x7FFFFFFF, 3 => 0x80000000, _ => (uint)random.Next() };
                    bool big = random.Next(2) == 0;
                    for (int b = 0; b < 4; b++) data[pos + b] = (byte)(value >> (8 * (big ? 3 - b : b)));
                    break;
                }
                case 4 when data.Count > 1: data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(16))); break;
                case 5:
                {
                    var block = new byte[1 + random.Next(16)];
                    random.NextBytes(block);
                    data.InsertRange(at, block);
                    break;
                }
                case 6 when data.Count > 1:
                {
                    int length = Math.Min(data.Count - at, 1 + random.Next(64));
                    data.InsertRange(random.Next(data.Count), data.GetRange(at, length));
                    break;
                }
                default:
                {
                    var other = pool[random.Next(pool.Count)];
                    if (other.Length == 0) break;
                    int from = random.Next(other.Length);
                    data.RemoveRange(at, data.Count - at);
                    data.AddRange(other.AsSpan(from).ToArray());
                    break;
                }
            }
            if (data.Count > MaxInputBytes) data.RemoveRange(MaxInputBytes, data.Count - MaxInputBytes);
        }
        return [.. data];
    }
}
