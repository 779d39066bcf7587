using Federated.Security;

namespace Federated.Hosting.Local;

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
    /// <summary>When set, every host stops itself when this process exits (demo, tests). Null for `federation start`.</summary>
    public int? ParentProcessId { get; init; } = Environment.ProcessId;

    /// <summary>Start the hosts in their own session so they outlive the launching terminal.</summary>
    public bool Detached { get; init; }

    /// <summary>Coordinator port; 0 picks a free one.</summary>
    public int CoordinatorPort { get; init; }

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Extra configuration for all hosts, as command-line settings (for example "--Relay:ChunkBytes=65536").</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>The music party's own data folder (its tables and schema files), passed as Party:DataDirectory; null = none.</summary>
    public string? MusicDataDirectory { get; init; }

    /// <summary>The external party's own data folder, passed as Party:DataDirectory; null = none. Each party sees only its own.</summary>
    public string? ExternalDataDirectory { get; init; }
}

/// <summary>
/// A federation of the three real hosts as separate processes on loopback with mutual TLS: a development
/// certificate set in the run folder, the coordinator (enrolling the music, external and operator certificates),
/// then the two party agents pointed at it. Disposing it stops every process it started.
/// </summary>
public sealed class LocalFederation : IAsyncDisposable
{
    public const string CoordinatorName = "coordinator";
    public const string MusicName = "music";
    public const string ExternalName = "external";
    public const string OperatorName = "operator";

    private readonly LocalFederationOptions _options;
    private readonly Dictionary<string, HostProcess> _hosts = new(StringComparer.Ordinal);

    private LocalFederation(LocalFederationOptions options) => _options = options;

    public string RunDirectory => _options.RunDirectory;
    public string CertificateDirectory => CertificatesIn(RunDirectory);
    public string AuditDatabasePath => Path.Combine(RunDirectory, CoordinatorName, "data", "audit.db");
    public string RegistryDatabasePath => Path.Combine(RunDirectory, CoordinatorName, "data", "coordinator.db");
    public Uri CoordinatorAddress { get; private set; } = null!;
    public IReadOnlyDictionary<string, HostProcess> Hosts => _hosts;

    public static string CertificatesIn(string runDirectory) => Path.Combine(runDirectory, "certs");
    public static string PidFileOf(string runDirectory, string name) => Path.Combine(runDirectory, "pids", name + ".pid");
    public static string AddressFileOf(string runDirectory) => Path.Combine(runDirectory, "coordinator.address");

    /// <summary>A party's state folder (Agent:StateDirectory); its train jobs are under <c>train/</c> there.</summary>
    public static string StateDirectoryOf(string runDirectory, string party) => Path.Combine(runDirectory, party, "state");

    /// <summary>Creates the development certificates when the run folder has none.</summary>
    public static bool EnsureCertificates(string runDirectory)
    {
        var directory = CertificatesIn(runDirectory);
        if (File.Exists(CertificateFiles.CertificatePath(directory, CertificateFiles.AuthorityName)))
            return false;
        CertificateFiles.CreateDevelopmentSet(directory, CertificateFiles.DevelopmentParties);
        return true;
    }

    /// <summary>Starts the coordinator and both parties; on any failure stops what it started and rethrows.</summary>
    public static async Task<LocalFederation> StartAsync(LocalFederationOptions options, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        options.Binaries.Check();
        Directory.CreateDirectory(options.RunDirectory);
        var federation = new LocalFederation(options);
        try
        {
            if (EnsureCertificates(options.RunDirectory))
                progress?.Report($"created development CA and certificates in {federation.CertificateDirectory}");
            progress?.Report("starting coordinator");
            await federation.StartHostAsync(CoordinatorName, cancellationToken).ConfigureAwait(false);
            File.WriteAllText(AddressFileOf(options.RunDirectory), federation.CoordinatorAddress.ToString());
            progress?.Report($"coordinator listening on {federation.CoordinatorAddress}; starting parties");
            await Task.WhenAll(
                federation.StartHostAsync(MusicName, cancellationToken),
                federation.StartHostAsync(ExternalName, cancellationToken)).ConfigureAwait(false);
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
        var run = RunDirectory;
        var certificates = CertificateDirectory;
        var arguments = new List<string>
        {
            $"--Host:ReadyFile={Path.Combine(run, name, "ready.json")}",
            $"--Tls:CertificateDirectory={certificates}",
            $"--Tls:CertificateName={name}",
        };
        if (_options.ParentProcessId is { } parent)
            arguments.Add($"--Host:ParentProcessId={parent}");
        string dll;
        switch (name)
        {
            case CoordinatorName:
                dll = _options.Binaries.Coordinator;
                arguments.Add($"--Host:Port={_options.CoordinatorPort}");
                arguments.Add($"--Coordinator:DataDirectory={Path.Combine(run, name, "data")}");
                arguments.Add($"--Coordinator:EnrollCertificates:0={CertificateFiles.CertificatePath(certificates, MusicName)}");
                arguments.Add($"--Coordinator:EnrollCertificates:1={CertificateFiles.CertificatePath(certificates, ExternalName)}");
                arguments.Add($"--Coordinator:EnrollCertificates:2={CertificateFiles.CertificatePath(certificates, OperatorName)}");
                break;
            case MusicName or ExternalName:
                dll = name == MusicName ? _options.Binaries.Music : _options.Binaries.External;
                arguments.Add("--Host:Port=0");
                arguments.Add($"--Agent:CoordinatorAddress={CoordinatorAddress ?? throw new InvalidOperationException("start the coordinator first")}");
                arguments.Add($"--Agent:StateDirectory={Path.Combine(run, name, "state")}");
                if ((name == MusicName ? _options.MusicDataDirectory : _options.ExternalDataDirectory) is { } data)
                    arguments.Add($"--Party:DataDirectory={Path.GetFullPath(data)}");
                break;
            default:
                throw new ArgumentException($"unknown host '{name}'", nameof(name));
        }
        arguments.AddRange(_options.ExtraArguments);

        var host = HostProcess.Start(name, dll, arguments, Path.Combine(run, "logs", name + ".log"), Path.Combine(run, name, "ready.json"),
            PidFileOf(run, name), _options.Detached);
        _hosts[name] = host;
        var address = await host.WaitReadyAsync(_options.StartTimeout, cancellationToken).ConfigureAwait(false);
        if (name == CoordinatorName)
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
        var parties = _hosts.Values.Where(h => h.Name != CoordinatorName).ToList();
        var coordinator = _hosts.Values.Where(h => h.Name == CoordinatorName).ToList();
        foreach (var group in new[] { parties, coordinator })
        {
            try { await Task.WhenAll(group.Select(h => h.StopAsync(TimeSpan.FromSeconds(5)))).ConfigureAwait(false); }
            finally { foreach (var host in group) host.Dispose(); }
        }
        _hosts.Clear();
    }
}
