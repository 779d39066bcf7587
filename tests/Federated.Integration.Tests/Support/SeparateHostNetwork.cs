using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Federated.Operator;

namespace Federated.Integration.Tests;

/// <summary>One TCP socket as <c>ss -tan</c> lists it inside a network namespace.</summary>
public sealed record SocketEntry(string State, IPEndPoint Local, IPEndPoint Peer)
{
    public override string ToString() => $"{State} {Local} -> {Peer}";
}

/// <summary>
/// Three Linux network namespaces, one per host (coordinator, music party, external party), each with its own address
/// on a private /24, joined by a bridge in a fourth namespace (the "switch"), and the test's own (root) namespace on
/// the same bridge as the operator. nftables rules in each host's namespace allow only what the federation's design
/// says it needs: a party opens TCP connections to the coordinator's port and nothing else, and accepts no
/// connection; the coordinator accepts connections on its port only and opens none. IPv6 is off in every namespace
/// and none forwards. Named counters in the rules count what was accepted and what was dropped.
/// Needs root, <c>ip</c> (iproute2) and <c>nft</c> (nftables); <see cref="Create"/> fails with what is missing.
/// Disposing removes the namespaces (their veth pairs and rules go with them).
/// </summary>
public sealed partial class SeparateHostNetwork : IDisposable
{
    /// <summary>The coordinator's gRPC port (its namespace is fresh, so a fixed port is free).</summary>
    public const int CoordinatorPort = 7443;

    /// <summary>The coordinator's metrics listener: a second port on its address that the rules do not open.</summary>
    public const int CoordinatorMetricsPort = 9464;

    /// <summary>The nftables table in every host namespace.</summary>
    public const string Table = "federated";

    private static readonly string OwnerFolder = Path.Combine(Path.GetTempPath(), "federated-netns");
    private bool _disposed;

    private SeparateHostNetwork(string id, int subnetB, int subnetC)
    {
        Id = id;
        string Address(int host) => $"10.{subnetB}.{subnetC}.{host}";
        RootAddress = IPAddress.Parse(Address(1));
        CoordinatorAddress = IPAddress.Parse(Address(2));
        MusicAddress = IPAddress.Parse(Address(3));
        ExternalAddress = IPAddress.Parse(Address(4));
    }

    /// <summary>Six hex digits shared by this network's namespaces and its one interface in the root namespace.</summary>
    public string Id { get; }
    public string Switch => $"fedn-{Id}";
    public string RootInterface => $"fedr-{Id}";
    public IPAddress RootAddress { get; }
    public IPAddress CoordinatorAddress { get; }
    public IPAddress MusicAddress { get; }
    public IPAddress ExternalAddress { get; }
    public IPEndPoint CoordinatorEndpoint => new(CoordinatorAddress, CoordinatorPort);

    /// <summary>The namespace of a host by its run-folder name (coordinator, music, external).</summary>
    public string NamespaceOf(string host) => host switch
    {
        RunFolder.CoordinatorName => $"fedc-{Id}",
        RunFolder.MusicName => $"fedm-{Id}",
        RunFolder.ExternalName => $"fede-{Id}",
        _ => throw new ArgumentException($"unknown host '{host}'", nameof(host)),
    };

    public IPAddress AddressOf(string host) => host switch
    {
        RunFolder.CoordinatorName => CoordinatorAddress,
        RunFolder.MusicName => MusicAddress,
        RunFolder.ExternalName => ExternalAddress,
        _ => throw new ArgumentException($"unknown host '{host}'", nameof(host)),
    };

    public static readonly string[] Hosts = [RunFolder.CoordinatorName, RunFolder.MusicName, RunFolder.ExternalName];

    private IEnumerable<string> Namespaces => Hosts.Select(NamespaceOf).Append(Switch);

    /// <summary>The command a host is started through so that it runs inside its namespace.</summary>
    public IReadOnlyList<string> CommandPrefix(string host) => ["ip", "netns", "exec", NamespaceOf(host)];

    /// <summary>Builds the namespaces, links, addresses and rules; fails with a clear message when this machine cannot.</summary>
    public static SeparateHostNetwork Create()
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("separate network namespaces need Linux (ip netns)");
        var (uid, _) = Run("id", "-u");
        if (uid.Trim() != "0")
            throw new InvalidOperationException($"separate network namespaces need root (ip netns add); this test runs as uid {uid.Trim()}. CI runs as root.");
        foreach (var (tool, package) in new[] { ("ip", "iproute2"), ("nft", "nftables"), ("ss", "iproute2"), ("bash", "bash"), ("timeout", "coreutils") })
            if (!OnPath(tool))
                throw new InvalidOperationException($"'{tool}' is not installed (Debian package {package}); tests/run.sh installs it");

        RemoveStale();
        var random = Random.Shared;
        var id = Convert.ToHexStringLower(BitConverter.GetBytes(random.Next()))[..6];
        var network = FreeSubnet(random, id);
        Directory.CreateDirectory(OwnerFolder);
        File.WriteAllText(Path.Combine(OwnerFolder, network.Id), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            network.Build();
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private static SeparateHostNetwork FreeSubnet(Random random, string id)
    {
        var (addresses, _) = Run("ip", "-4", "-o", "addr", "show");
        var (routes, _) = Run("ip", "-4", "route", "show", "table", "all");
        for (var attempt = 0; attempt < 50; attempt++)
        {
            int b = 200 + random.Next(50), c = random.Next(256);
            var prefix = $"10.{b}.{c}.";
            if (!addresses.Contains(prefix, StringComparison.Ordinal) && !routes.Contains(prefix, StringComparison.Ordinal))
                return new SeparateHostNetwork(id, b, c);
        }
        throw new InvalidOperationException("no free 10.2xx.y.0/24 subnet on this machine:\n" + routes);
    }

    private void Build()
    {
        foreach (var ns in Namespaces)
        {
            Must("ip", "netns", "add", ns);
            Must("ip", "-n", ns, "link", "set", "lo", "up");
            // No IPv6 (no neighbour discovery noise in the counters) and no forwarding anywhere.
            Must("ip", "netns", "exec", ns, "sh", "-c",
                "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 && echo 0 > /proc/sys/net/ipv4/ip_forward");
        }
        Must("ip", "-n", Switch, "link", "add", "br0", "type", "bridge");
        Must("ip", "-n", Switch, "link", "set", "br0", "up");

        // The operator's side: the test (root namespace) on the same bridge.
        Must("ip", "link", "add", RootInterface, "type", "veth", "peer", "name", "vr", "netns", Switch);
        Must("ip", "-n", Switch, "link", "set", "vr", "master", "br0", "up");
        Must("ip", "addr", "add", $"{RootAddress}/24", "dev", RootInterface);
        Must("ip", "link", "set", RootInterface, "up");

        foreach (var host in Hosts)
        {
            var port = "v" + host[0];
            var ns = NamespaceOf(host);
            Must("ip", "-n", Switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
            Must("ip", "-n", Switch, "link", "set", port, "master", "br0", "up");
            Must("ip", "-n", ns, "addr", "add", $"{AddressOf(host)}/24", "dev", "eth0");
            Must("ip", "-n", ns, "link", "set", "eth0", "up");
            var rules = Path.Combine(OwnerFolder, $"{Id}-{host}.nft");
            File.WriteAllText(rules, host == RunFolder.CoordinatorName ? CoordinatorRules() : PartyRules());
            try { Must("ip", "netns", "exec", ns, "nft", "-f", rules); }
            finally { File.Delete(rules); }
        }
    }

    /// <summary>A party: no inbound connection at all; outbound only new TCP connections to the coordinator's port.</summary>
    private string PartyRules() => $$"""
        table inet {{Table}} {
          counter inbound_syn_dropped {}
          counter outbound_to_coordinator {}
          counter outbound_other_dropped {}
          chain input {
            type filter hook input priority 0; policy drop;
            iif "lo" accept
            ct state established,related accept
            tcp flags & (syn | ack) == syn counter name "inbound_syn_dropped" drop
          }
          chain output {
            type filter hook output priority 0; policy drop;
            oif "lo" accept
            ct state established,related accept
            ip daddr {{CoordinatorAddress}} tcp dport {{CoordinatorPort}} ct state new counter name "outbound_to_coordinator" accept
            counter name "outbound_other_dropped" drop
          }
          chain forward {
            type filter hook forward priority 0; policy drop;
          }
        }
        """;

    /// <summary>The coordinator: inbound only new TCP connections to its port; it opens no connection itself.</summary>
    private static string CoordinatorRules() => $$"""
        table inet {{Table}} {
          counter inbound_to_coordinator {}
          counter inbound_other_dropped {}
          counter outbound_dropped {}
          chain input {
            type filter hook input priority 0; policy drop;
            iif "lo" accept
            ct state established,related accept
            tcp dport {{CoordinatorPort}} ct state new counter name "inbound_to_coordinator" accept
            counter name "inbound_other_dropped" drop
          }
          chain output {
            type filter hook output priority 0; policy drop;
            oif "lo" accept
            ct state established,related accept
            counter name "outbound_dropped" drop
          }
          chain forward {
            type filter hook forward priority 0; policy drop;
          }
        }
        """;

    /// <summary>Packets counted so far by a named counter in a host's namespace.</summary>
    public long Counter(string host, string counter)
    {
        var text = Must("ip", "netns", "exec", NamespaceOf(host), "nft", "list", "counter", "inet", Table, counter);
        var match = PacketsPattern().Match(text);
        if (!match.Success) throw new InvalidDataException($"no packet count in: {text}");
        return long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The TCP sockets of a host's namespace that are not listening (ss -tan).</summary>
    public IReadOnlyList<SocketEntry> Sockets(string host)
    {
        var text = Must("ip", "netns", "exec", NamespaceOf(host), "ss", "-Htan");
        var entries = new List<SocketEntry>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 5 || fields[0] == "LISTEN") continue;
            if (!IPEndPoint.TryParse(fields[3], out var local) || !IPEndPoint.TryParse(fields[4], out var peer))
                throw new InvalidDataException($"ss line not understood: {line}");
            entries.Add(new SocketEntry(fields[0], IPv4(local), IPv4(peer)));
        }
        return entries;
    }

    /// <summary>A dual-stack socket's IPv4-mapped address (::ffff:a.b.c.d) as the IPv4 address it is.</summary>
    private static IPEndPoint IPv4(IPEndPoint endpoint) =>
        endpoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endpoint.Address.MapToIPv4(), endpoint.Port) : endpoint;

    /// <summary>
    /// Whether a TCP connection from <paramref name="fromHost"/>'s namespace (null: the test's own) to the endpoint is
    /// established within two seconds (bash's /dev/tcp, so no client tool is needed).
    /// </summary>
    public bool Connects(string? fromHost, IPEndPoint to) => Probe(fromHost is null ? null : NamespaceOf(fromHost), to, TimeSpan.FromSeconds(2));

    private static bool Probe(string? fromNamespace, IPEndPoint to, TimeSpan timeout)
    {
        var probe = new List<string>();
        if (fromNamespace is not null) probe.AddRange(["ip", "netns", "exec", fromNamespace]);
        probe.AddRange(["timeout", ((int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture), "bash", "-c",
            $"exec 3<>/dev/tcp/{to.Address}/{to.Port}"]);
        var (_, exit) = Run([.. probe]);
        return exit == 0;
    }

    /// <summary>The network namespace of a process (its /proc/PID/ns/net link, for example "net:[4026532291]").</summary>
    public static string NamespaceOfProcess(int processId) =>
        new FileInfo($"/proc/{processId}/ns/net").LinkTarget ?? throw new InvalidOperationException($"process {processId} has no network namespace link");

    /// <summary>The network namespace a process started in a host's namespace has.</summary>
    public string NamespaceIdentity(string host) => Must("ip", "netns", "exec", NamespaceOf(host), "readlink", "/proc/self/ns/net").Trim();

    /// <summary>Names in <c>ip netns list</c> (first word of each line).</summary>
    public static IReadOnlyList<string> ListNamespaces() =>
        Run("ip", "netns", "list").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToList();

    /// <summary>Namespaces and root links of this kind left by a test process that is gone (killed before it cleaned up).</summary>
    private static void RemoveStale()
    {
        var ids = ListNamespaces().Select(n => NamespacePattern().Match(n)).Where(m => m.Success).Select(m => m.Groups[1].Value)
            .Concat(Run("ip", "-o", "link", "show").Output.Split('\n').Select(l => RootLinkPattern().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value))
            .Distinct();
        foreach (var id in ids)
        {
            var owner = Path.Combine(OwnerFolder, id);
            if (File.Exists(owner) && int.TryParse(File.ReadAllText(owner), out var pid) && pid != Environment.ProcessId && Federated.Launcher.ProcessSignals.IsAlive(pid))
                continue; // another test run's, still in use
            Remove(id);
        }
    }

    private static void Remove(string id)
    {
        foreach (var prefix in new[] { "fedc", "fedm", "fede", "fedn" })
            if (ListNamespaces().Contains($"{prefix}-{id}"))
                Run("ip", "netns", "del", $"{prefix}-{id}");
        // The root end of the veth goes with its peer's namespace; remove it in case that failed half-way.
        if (Run("ip", "link", "show", $"fedr-{id}").ExitCode == 0)
            Run("ip", "link", "del", $"fedr-{id}");
        File.Delete(Path.Combine(OwnerFolder, id));
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Remove(Id);
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/sbin")
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, tool)));

    private static string Must(params string[] command)
    {
        var (output, exit) = Run(command);
        if (exit != 0)
            throw new InvalidOperationException($"`{string.Join(' ', command)}` exited with {exit}: {output.Trim()}");
        return output;
    }

    private static (string Output, int ExitCode) Run(params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1)) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command[0]} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{string.Join(' ', command)}` ran for more than 30 s");
        }
        process.WaitForExit();
        return (stdout.Result + stderr.Result, process.ExitCode);
    }

    [GeneratedRegex(@"packets (\d+)")]
    private static partial Regex PacketsPattern();

    [GeneratedRegex(@"^fed[cmen]-([0-9a-f]{6})$")]
    private static partial Regex NamespacePattern();

    [GeneratedRegex(@"^\d+: fedr-([0-9a-f]{6})[@:]")]
    private static partial Regex RootLinkPattern();
}
