using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Federated.Crypto.Psi;
using Federated.Psi.Benchmarks;

// Figures for the PSI: wall time and peak memory per party, each party in its own process over loopback TCP.
//   run   --ids N [--overlap 0.5] [--chunk 65536] [--work DIR] [--cpus-m LIST --cpus-e LIST] [--keep]
//   party (internal: one role, spawned by run)
//   micro (per-operation cost of hash-to-group and scalar multiplication)
var cli = Args.Parse(args);
return cli.Command switch
{
    "run" => await Bench.RunAsync(cli),
    "party" => await Bench.PartyAsync(cli),
    "micro" => Bench.Micro(),
    _ => Bench.Usage(),
};

internal static class Bench
{
    public static int Usage()
    {
        Console.Error.WriteLine("usage: run --ids N [--overlap 0.5] [--chunk 65536] [--work DIR] [--cpus-m 0,1 --cpus-e 0,1] [--keep] | micro");
        return 2;
    }

    public static async Task<int> RunAsync(Args cli)
    {
        int n = cli.Int("ids", 100_000);
        double overlap = cli.Double("overlap", 0.5);
        string work = cli.Get("work") ?? Path.Combine(Path.GetTempPath(), $"psi-bench-{n}");
        if (Directory.Exists(work)) Directory.Delete(work, true);
        Directory.CreateDirectory(work);
        int common = (int)(n * overlap);
        string fileM = Path.Combine(work, "ids-m.txt"), fileE = Path.Combine(work, "ids-e.txt");
        // M: users 0..n-1; E: users n-common..2n-common-1, written in a scrambled order.
        WriteIds(fileM, 0, n);
        WriteIds(fileE, n - common, n);

        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        string load0 = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        var clock = Stopwatch.StartNew();
        var m = Spawn(cli.Get("cpus-m"), ["party", "--role", "music", "--listen", port.ToString(), "--ids-file", fileM, "--job", Path.Combine(work, "job-m"), "--chunk", cli.Int("chunk", 65536).ToString()]);
        await Task.Delay(300);
        var e = Spawn(cli.Get("cpus-e"), ["party", "--role", "external", "--connect", port.ToString(), "--ids-file", fileE, "--job", Path.Combine(work, "job-e"), "--chunk", cli.Int("chunk", 65536).ToString()]);
        var outM = m.StandardOutput.ReadToEndAsync();
        var outE = e.StandardOutput.ReadToEndAsync();
        await Task.WhenAll(m.WaitForExitAsync(), e.WaitForExitAsync());
        double total = clock.Elapsed.TotalSeconds;
        string load1 = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        if (m.ExitCode != 0 || e.ExitCode != 0)
        {
            Console.Error.WriteLine($"party failed: music {m.ExitCode}, external {e.ExitCode}");
            Console.Error.WriteLine(await outM);
            Console.Error.WriteLine(await outE);
            return 1;
        }
        var rm = JsonSerializer.Deserialize<PartyFigures>(await outM)!;
        var re = JsonSerializer.Deserialize<PartyFigures>(await outE)!;
        bool ok = rm.Intersection == common && re.Intersection == common && rm.KeysSha256 == re.KeysSha256;
        Console.WriteLine($"PSI {n:N0} x {n:N0} IDs, overlap {overlap:P0}, chunk {cli.Int("chunk", 65536)} points, cores {Environment.ProcessorCount}, cpus m=[{cli.Get("cpus-m") ?? "all"}] e=[{cli.Get("cpus-e") ?? "all"}]");
        Console.WriteLine($"  intersection {rm.Intersection:N0} (expected {common:N0}), same rows and order on both sides: {ok}");
        foreach (var f in new[] { rm, re })
            Console.WriteLine($"  {f.Role,-8} wall {f.WallSeconds,7:F2} s  CPU {f.CpuSeconds,7:F2} s  peak RSS {f.PeakWorkingSetMiB,7:F1} MiB  peak GC heap {f.PeakGcHeapMiB,7:F1} MiB  workers {f.Workers}");
        Console.WriteLine($"  both processes, spawn to exit: {total:F2} s; CPU of both PSI runs {rm.CpuSeconds + re.CpuSeconds:F1} s");
        Console.WriteLine($"  load average before: {load0}; after: {load1}");
        if (!cli.Has("keep")) Directory.Delete(work, true);
        return ok ? 0 : 1;
    }

    private static void WriteIds(string path, int first, int count)
    {
        // A fixed odd multiplier mod count scrambles the order deterministically.
        using var w = new StreamWriter(path);
        long step = 2_654_435_761 % Math.Max(1, count);
        while (count > 1 && Gcd(step, count) != 1) step++;
        for (long i = 0; i < count; i++) w.Write($"user-{first + (i * step % count):D10}\n");
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

    private static Process Spawn(string? cpus, string[] args)
    {
        string self = typeof(Bench).Assembly.Location;
        string host = Environment.ProcessPath!;
        var list = new List<string>();
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") list.Add(self);
        list.AddRange(args);
        var psi = cpus is null ? new ProcessStartInfo(host) : new ProcessStartInfo("taskset");
        if (cpus is not null) { psi.ArgumentList.Add("-c"); psi.ArgumentList.Add(cpus); psi.ArgumentList.Add(host); }
        foreach (var a in list) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        return Process.Start(psi)!;
    }

    public static async Task<int> PartyAsync(Args cli)
    {
        var role = cli.Get("role") == "music" ? PsiRole.Music : PsiRole.External;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        TcpPeerChannel channel;
        if (cli.Get("listen") is { } lp)
        {
            var listener = new TcpListener(IPAddress.Loopback, int.Parse(lp, CultureInfo.InvariantCulture));
            listener.Start();
            channel = await TcpPeerChannel.AcceptAsync(listener, cts.Token);
            listener.Stop();
        }
        else channel = await ConnectWithRetry(int.Parse(cli.Get("connect")!, CultureInfo.InvariantCulture), cts.Token);
        using (channel)
        {
            var clock = Stopwatch.StartNew();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var result = await PsiParty.RunAsync(role, channel, IdSource.FromFile(cli.Get("ids-file")!),
                new PsiOptions { Domain = "bench-alignment", JobFolder = cli.Get("job")!, ChunkPoints = cli.Int("chunk", 65536) }, cts.Token);
            double wall = clock.Elapsed.TotalSeconds;
            using var proc = Process.GetCurrentProcess();
            proc.Refresh();
            double cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds;
            var keysHash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(result.AlignedKeysPath)));
            Console.WriteLine(JsonSerializer.Serialize(new PartyFigures(
                role.ToString(), wall, cpu, proc.PeakWorkingSet64 / 1048576.0, PeakGcHeapMiB(), Environment.ProcessorCount, result.IntersectionSize, keysHash)));
        }
        return 0;
    }

    private static double PeakGcHeapMiB()
    {
        // The largest heap size GC saw among its recent collections (an approximation of the managed peak).
        double peak = 0;
        foreach (var kind in new[] { GCKind.Any, GCKind.FullBlocking, GCKind.Background, GCKind.Ephemeral })
            peak = Math.Max(peak, GC.GetGCMemoryInfo(kind).HeapSizeBytes);
        return Math.Max(peak, GC.GetTotalMemory(false)) / 1048576.0;
    }

    private static async Task<TcpPeerChannel> ConnectWithRetry(int port, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            try { return await TcpPeerChannel.ConnectAsync(port, ct); }
            catch (SocketException) when (attempt < 50) { await Task.Delay(200, ct); }
        }
    }

    public static int Micro()
    {
        var prefix = Ristretto255.DomainPrefix("bench");
        var s = new byte[32];
        Ristretto255.RandomScalar(s);
        var p = new byte[32];
        const int n = 20000;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) Ristretto255.HashToGroup(prefix, "user-" + i, p);
        Console.WriteLine($"hash-to-group (SHA-512 + from_hash): {sw.Elapsed.TotalMicroseconds / n:F1} us");
        sw.Restart();
        for (int i = 0; i < n; i++) Ristretto255.TryMultiply(s, p, p);
        Console.WriteLine($"scalar multiplication:               {sw.Elapsed.TotalMicroseconds / n:F1} us");
        return 0;
    }
}

internal sealed record PartyFigures(string Role, double WallSeconds, double CpuSeconds, double PeakWorkingSetMiB, double PeakGcHeapMiB, int Workers, long Intersection, string KeysSha256);

internal sealed class Args
{
    private readonly Dictionary<string, string?> _named = new();
    public string Command { get; private set; } = "";

    public static Args Parse(string[] args)
    {
        var a = new Args { Command = args.Length > 0 ? args[0] : "" };
        for (int i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
            string key = args[i][2..];
            string? value = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null;
            a._named[key] = value;
        }
        return a;
    }

    public string? Get(string name) => _named.TryGetValue(name, out var v) ? v : null;
    public bool Has(string name) => _named.ContainsKey(name);
    public int Int(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
    public double Double(string name, double fallback) => Get(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
