using Federated.Core;
using Federated.Operator;
using Federated.Security;

namespace Federated.Launcher;

/// <summary>The binaries of the three hosts.</summary>
public sealed record HostBinaries(string Coordinator, string Music, string External)
{
    /// <summary>Reads the paths that the build wrote into <paramref name="assembly"/>'s metadata (keys HostDll:*).</summary>
    public static HostBinaries FromAssemblyMetadata(System.Reflection.Assembly assembly)
    {
        var metadata = assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .ToDictionary(a => a.Key, a => a.Value ?? "");
        string Get(string key) => metadata.TryGetValue("HostDll:" + key, out var v) && v.Length > 0
            ? Path.GetFullPath(v)
            : throw new InvalidOperationException($"{assembly.GetName().Name} was built without the HostDll:{key} metadata");
        return new HostBinaries(Get("coordinator"), Get("music"), Get("external"));
    }

    public void Check()
    {
        foreach (var (name, path) in new[] { ("coordinator", Coordinator), ("music", Music), ("external", External) })
            if (!File.Exists(path))
                throw new FileNotFoundException($"the {name} host binary {path} does not exist; build the solution first", path);
    }
}

/// <summary>Settings of a local federation.</summary>
public sealed record LocalFederationOptions(string RunDirectory, HostBinaries Binaries)
{
    public RunFolder Folder { get; } = new(Path.GetFullPath(RunDirectory));

    /// <summary>When set, every host stops itself when this process exits (demo, tests). Null for `federation start`.</summary>
    public int? ParentProcessId { get; init; } = Environment.ProcessId;

    /// <summary>Start the hosts in their own session so they outlive the launching terminal.</summary>
    public bool Detached { get; init; }

    /// <summary>Coordinator port; 0 picks a free one.</summary>
    public int CoordinatorPort { get; init; }

    /// <summary>Music host port; 0 picks a free one (a fixed one lets the coordinator be told where M's APIs are).</summary>
    public int MusicPort { get; init; }

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Extra configuration for all hosts, as command-line settings (for example "--Relay:ChunkBytes=65536").</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>Host:MetricsPort by host name (coordinator, music, external); a host not named serves no metrics.</summary>
    public IReadOnlyDictionary<string, int> MetricsPorts { get; init; } = new Dictionary<string, int>();

    /// <summary>The music party's own data folder (its tables and schema files), passed as Party:DataDirectory; null = none.</summary>
    public string? MusicDataDirectory { get; init; }

    /// <summary>The external party's own data folder, passed as Party:DataDirectory; null = none. Each party sees only its own.</summary>
    public string? ExternalDataDirectory { get; init; }

    /// <summary>
    /// Further settings for one host by name (coordinator, music, external), after <see cref="ExtraArguments"/>: for
    /// example the coordinator's "--Host:Address=10.0.0.2" when it must listen on an address other hosts can reach.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> HostArguments { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>
    /// A command that a host's process is started through, by host name: for example ["ip", "netns", "exec", "ns1"]
    /// runs that host inside the network namespace ns1. The command must exec what follows it (keep the process id).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> HostCommandPrefix { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}

/// <summary>
/// A federation of the three real hosts as separate processes on loopback with mutual TLS: a development
/// certificate set in the run folder, the coordinator (enrolling the music, external and operator certificates),
/// then the two party agents pointed at it. Disposing it stops every process it started.
/// </summary>
public sealed class LocalFederation : IAsyncDisposable
{
    private readonly LocalFederationOptions _options;
    private readonly Dictionary<string, HostProcess> _hosts = new(StringComparer.Ordinal);

    private LocalFederation(LocalFederationOptions options) => _options = options;

    /// <summary>The run folder's layout (certificates, logs, each host's own folder).</summary>
    public RunFolder Folder => _options.Folder;
    public Uri CoordinatorAddress { get; private set; } = null!;
    public IReadOnlyDictionary<string, HostProcess> Hosts => _hosts;

    /// <summary>Creates the development certificates when the run folder has none.</summary>
    public static bool EnsureCertificates(RunFolder folder)
    {
        var directory = folder.Certificates;
        if (File.Exists(CertificateFiles.CertificatePath(directory, CertificateFiles.AuthorityName)))
            return false;
        PrivateFiles.CreateFolder(directory);
        CertificateFiles.CreateDevelopmentSet(directory, CertificateFiles.DevelopmentParties);
        return true;
    }

    /// <summary>
    /// The run folder is this launcher's own: it and every host folder in it are made owner-only (0700), including
    /// folders an earlier version left open, so the hosts' start-up permission check passes on them.
    /// </summary>
    public static void PrivateRunFolder(RunFolder folder)
    {
        PrivateFiles.CreateFolder(folder.Root);
        foreach (var path in new[] { folder.Root, folder.Certificates, folder.PidDirectory, Path.GetDirectoryName(folder.LogFile(RunFolder.CoordinatorName))!,
                     folder.HostFolder(RunFolder.CoordinatorName), folder.CoordinatorData,
                     folder.HostFolder(RunFolder.MusicName), folder.PartyState(RunFolder.MusicName),
                     folder.HostFolder(RunFolder.ExternalName), folder.PartyState(RunFolder.ExternalName) })
            if (Directory.Exists(path) && !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & PrivateFiles.OpenToOthers) != 0)
                File.SetUnixFileMode(path, PrivateFiles.FolderMode);
    }

    /// <summary>Starts the coordinator and both parties; on any failure stops what it started and rethrows.</summary>
    public static async Task<LocalFederation> StartAsync(LocalFederationOptions options, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        options.Binaries.Check();
        PrivateRunFolder(options.Folder);
        var federation = new LocalFederation(options);
        try
        {
            if (EnsureCertificates(options.Folder))
                progress?.Report($"created development CA and certificates in {options.Folder.Certificates}");
            progress?.Report("starting coordinator");
            await federation.StartHostAsync(RunFolder.CoordinatorName, cancellationToken).ConfigureAwait(false);
            PrivateFiles.WriteAllText(options.Folder.CoordinatorAddressFile, federation.CoordinatorAddress.ToString());
            progress?.Report($"coordinator listening on {federation.CoordinatorAddress}; starting parties");
            await Task.WhenAll(
                federation.StartHostAsync(RunFolder.MusicName, cancellationToken),
                federation.StartHostAsync(RunFolder.ExternalName, cancellationToken)).ConfigureAwait(false);
            progress?.Report("music and external parties started");
            return federation;
        }
        catch
        {
            await federation.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts (or restarts) one host by name and waits until it listens.</summary>
    public async Task<HostProcess> StartHostAsync(string name, CancellationToken cancellationToken)
    {
        if (_hosts.TryGetValue(name, out var previous))
        {
            previous.Dispose();
            _hosts.Remove(name);
        }
        var run = Folder;
        var certificates = run.Certificates;
        var arguments = new List<string>
        {
            $"--Host:ReadyFile={run.ReadyFile(name)}",
            $"--Tls:CertificateDirectory={certificates}",
            $"--Tls:CertificateName={name}",
        };
        if (_options.ParentProcessId is { } parent)
            arguments.Add($"--Host:ParentProcessId={parent}");
        string dll;
        switch (name)
        {
            case RunFolder.CoordinatorName:
                dll = _options.Binaries.Coordinator;
                arguments.Add($"--Host:Port={_options.CoordinatorPort}");
                arguments.Add($"--Coordinator:DataDirectory={run.CoordinatorData}");
                arguments.Add($"--Coordinator:EnrollCertificates:0={CertificateFiles.CertificatePath(certificates, RunFolder.MusicName)}");
                arguments.Add($"--Coordinator:EnrollCertificates:1={CertificateFiles.CertificatePath(certificates, RunFolder.ExternalName)}");
                arguments.Add($"--Coordinator:EnrollCertificates:2={CertificateFiles.CertificatePath(certificates, RunFolder.OperatorName)}");
                break;
            case RunFolder.MusicName or RunFolder.ExternalName:
                dll = name == RunFolder.MusicName ? _options.Binaries.Music : _options.Binaries.External;
                arguments.Add($"--Host:Port={(name == RunFolder.MusicName ? _options.MusicPort : 0)}");
                arguments.Add($"--Agent:CoordinatorAddress={CoordinatorAddress ?? throw new InvalidOperationException("start the coordinator first")}");
                arguments.Add($"--Agent:StateDirectory={run.PartyState(name)}");
                if ((name == RunFolder.MusicName ? _options.MusicDataDirectory : _options.ExternalDataDirectory) is { } data)
                    arguments.Add($"--Party:DataDirectory={Path.GetFullPath(data)}");
                if (name == RunFolder.MusicName)
                {
                    // On this machine the operator is also M's serving client and model administrator.
                    arguments.Add($"--Serving:AllowedCallers:0={RunFolder.OperatorName}");
                    arguments.Add($"--Serving:Administrators:0={RunFolder.OperatorName}");
                }
                break;
            default:
                throw new ArgumentException($"unknown host '{name}'", nameof(name));
        }
        if (_options.MetricsPorts.TryGetValue(name, out var metricsPort))
            arguments.Add($"--Host:MetricsPort={metricsPort}");
        arguments.AddRange(_options.ExtraArguments);
        if (_options.HostArguments.TryGetValue(name, out var own))
            arguments.AddRange(own);

        var host = HostProcess.Start(name, dll, arguments, run.LogFile(name), run.ReadyFile(name), run.PidFile(name), _options.Detached,
            _options.HostCommandPrefix.TryGetValue(name, out var prefix) ? prefix : null);
        _hosts[name] = host;
        var address = await host.WaitReadyAsync(_options.StartTimeout, cancellationToken).ConfigureAwait(false);
        if (name == RunFolder.CoordinatorName)
            CoordinatorAddress = address;
        return host;
    }

    /// <summary>Kills a host with its whole process tree, without any chance to clean up (crash simulation).</summary>
    public void Kill(string name)
    {
        if (_hosts.TryGetValue(name, out var host))
            host.Kill();
    }

    /// <summary>Leaves the processes running (for `federation start`); forgets them here.</summary>
    public void Detach() => _hosts.Clear();

    public async ValueTask DisposeAsync()
    {
        // Parties first (together), so they do not log reconnect attempts against a stopped coordinator.
        var parties = _hosts.Values.Where(h => h.Name != RunFolder.CoordinatorName).ToList();
        var coordinator = _hosts.Values.Where(h => h.Name == RunFolder.CoordinatorName).ToList();
        foreach (var group in new[] { parties, coordinator })
        {
            try { await Task.WhenAll(group.Select(h => h.StopAsync(TimeSpan.FromSeconds(5)))).ConfigureAwait(false); }
            finally { foreach (var host in group) host.Dispose(); }
        }
        _hosts.Clear();
    }
}
