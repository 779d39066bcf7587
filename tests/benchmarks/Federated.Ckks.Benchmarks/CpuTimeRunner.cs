using Federated.Crypto.Ckks.Packing;
using System.Runtime.InteropServices;
using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Serialization;

namespace Federated.Ckks.Benchmarks;

/// <summary>
/// Per-operation THREAD CPU time (clock_gettime(CLOCK_THREAD_CPUTIME_ID)), median and minimum of many calls, timed
/// exactly like the SEAL program in tools/seal-bench/bench.cpp: 5 untimed calls, then calls until 1.5 s of CPU time
/// and at least 50 calls (at most 2000), each call timed alone. On the shared 2-core VM, wall-clock figures are
/// inflated by time-slicing with other processes; CPU time is not (cache and frequency effects remain).
/// Before timing anything, every operation of every requested parameter set runs until tiered compilation has
/// promoted its code (at least <see cref="WarmupCalls"/> calls and <see cref="WarmupMs"/> ms each, then a pause for
/// the background compiler); `--cold` skips that and times the first calls of the process, as a JIT-cold caller sees
/// them. Run with `-- --cputime [N8192] [N16384] [--cold]`.
/// </summary>
public static partial class CpuTimeRunner
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Seconds; public long Nanoseconds; }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec ts);

    private const int ThreadCpuTime = 3;
    private const int WarmupCalls = 80;
    private const double WarmupMs = 400;

    internal static double NowMicros()
    {
        ClockGetTime(ThreadCpuTime, out var ts);
        return ts.Seconds * 1e6 + ts.Nanoseconds / 1e3;
    }

    /// <summary>bench.cpp's measure(): 5 untimed calls, then until the budget and at least minCalls, at most 2000.</summary>
    private static (double Median, double Min, int Count) Measure(Action op, double budgetMs = 1500, int minCalls = 50)
    {
        for (int i = 0; i < 5; i++) op();
        var times = new List<double>();
        double start = NowMicros();
        while ((NowMicros() - start) < budgetMs * 1000 || times.Count < minCalls)
        {
            double t0 = NowMicros();
            op();
            times.Add(NowMicros() - t0);
            if (times.Count >= 2000) break;
        }
        times.Sort();
        return (times[times.Count / 2], times[0], times.Count);
    }

    private static void WarmUp(Action op)
    {
        double start = NowMicros();
        for (int calls = 0; calls < WarmupCalls || NowMicros() - start < WarmupMs * 1000; calls++) op();
    }

    /// <summary>Single-thread CPU time of the packed products at the protocol shape (B=4096, k=128, d=64, N=8192).</summary>
    public static void RunPacked()
    {
        var bench = new PackedProductBenchmarks { Threads = 1 };
        bench.Setup();
        Console.WriteLine($"packed products, single thread CPU time, milliseconds (median, min); load average {File.ReadAllText("/proc/loadavg").Trim()}");
        var (fm, fmin, _) = Measure(() => bench.ForwardColumnPacked(), budgetMs: 4000, minCalls: 7);
        Console.WriteLine($"| forward column-packed | {fm / 1000:N0} ({fmin / 1000:N0}) |");
        var (bm, bmin, _) = Measure(() => bench.BackwardBatchSum(), budgetMs: 1, minCalls: 7);
        Console.WriteLine($"| backward batch-sum (BSGS rotations) | {bm / 1000:N0} ({bmin / 1000:N0}) |");
        var chosen = CoefficientBatchSumPlan.Choose(8192, 4096, 128, 64);
        foreach (var (m, n, o) in new[] { (chosen.RowBlock, chosen.InnerBlock, chosen.OuterBlock), (64, 2, 64), (64, 4, 32), (64, 8, 16), (128, 4, 16), (32, 4, 64) })
        {
            var plan = new CoefficientBatchSumPlan(8192, 4096, 128, 64, m, n, o);
            bench.UseCoefficientPlan(plan);
            var (cm, cmin, _) = Measure(() => bench.BackwardCoefficientBatchSum(), budgetMs: 3000, minCalls: 7);
            Console.WriteLine($"| backward coefficient batch-sum, blocks {m} x {n} x {o}{(plan == chosen ? " (chosen)" : "")}: {plan.InputCount} inputs, {plan.OutputCount} outputs, 0 rotations | {cm / 1000:N0} ({cmin / 1000:N0}) |");
        }
    }

    /// <summary>The timed operations of one parameter set, in bench.cpp's order and with its names.</summary>
    private static (string Name, Action Op)[] Operations(string set)
    {
        var f = new Fixture(set);
        var values = f.Values(1);
        var pt = f.Encoder.Encode(values, f.Scale);
        var ptOut = new Plaintext(f.Context, f.Context.MaxLevel, f.Scale);
        var ct = f.Encryptor.Encrypt(pt);
        var ct2 = f.Encryptor.Encrypt(f.Encoder.Encode(f.Values(2), f.Scale));
        var output = ct.Clone();
        var galois = f.KeyGen.CreateGaloisKeys([1]);
        var serialized = CkksSerializer.Serialize(ct);
        var buffer = new byte[serialized.Length];
        var decoded = new double[f.Context.SlotCount];
        return
        [
            ("encode (full slots)", () => f.Encoder.Encode(values, f.Scale, ptOut)),
            ("encode (one scalar)", () => f.Encoder.Encode(0.75, f.Scale, ptOut)),
            ("encrypt, public key", () => f.Encryptor.Encrypt(pt, output)),
            ("encrypt, symmetric", () => f.Encryptor.EncryptSymmetricInto(pt, output)),
            ("decrypt", () => f.Decryptor.Decrypt(ct, ptOut)),
            ("decode (full slots)", () => f.Encoder.Decode(pt, decoded)),
            ("add ct+ct", () => f.Evaluator.Add(ct, ct2, output)),
            ("add_plain", () => f.Evaluator.AddPlain(ct, pt, output)),
            ("multiply_plain", () => f.Evaluator.MultiplyPlain(ct, pt, output)),
            ("multiply by scalar (RNS integer)", () => f.Evaluator.MultiplyScalar(ct, 0.731, 30, output)),
            ("rescale_to_next (incl. copy)", () => { ct.CopyTo(output); f.Evaluator.RescaleToNextInplace(output); }),
            ("rotate by 1 step", () => f.Evaluator.Rotate(ct, 1, galois, output)),
            ("keygen: public key", () => f.KeyGen.CreatePublicKey()),
            ("keygen: Galois key for one step", () => f.KeyGen.CreateGaloisKeys([1])),
            ("serialize ciphertext", () => CkksSerializer.Serialize(ct, buffer)),
            ("deserialize ciphertext", () => CkksSerializer.DeserializeCiphertext(f.Context, serialized, output)),
        ];
    }

    /// <summary>Times every operation of each set; with warm-up (the default) all sets are warmed before any is timed.</summary>
    public static void Run(IReadOnlyList<string> sets, bool cold)
    {
        Thread.BeginThreadAffinity();
        var all = sets.Select(s => (Set: s, Ops: Operations(s))).ToList();
        if (!cold)
        {
            double t0 = NowMicros();
            foreach (var (_, ops) in all)
                foreach (var (_, op) in ops) WarmUp(op);
            // A second, shorter pass runs the code the first pass queued for re-compilation (tier-1 with profile data).
            Thread.Sleep(300);
            foreach (var (_, ops) in all)
                foreach (var (_, op) in ops) { for (int i = 0; i < 10; i++) op(); }
            Thread.Sleep(300);
            Console.WriteLine($"warm-up: {(NowMicros() - t0) / 1e6:F1} s CPU time over {all.Count} parameter set(s), tiered compilation {(AppContext.TryGetSwitch("System.Runtime.TieredCompilation", out bool tc) && !tc ? "off" : "on")}");
        }
        foreach (var (set, ops) in all)
        {
            Console.WriteLine($"thread CPU time per op, {set}, {(cold ? "cold (no warm-up)" : "steady state")}, microseconds (median, min); load average {File.ReadAllText("/proc/loadavg").Trim()}");
            foreach (var (name, op) in ops)
            {
                var (median, min, count) = Measure(op);
                Console.WriteLine($"| {name} | {median:F1} ({min:F1}) | n={count} |");
            }
        }
        Thread.EndThreadAffinity();
    }
}
