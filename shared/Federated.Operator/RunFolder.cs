using System.Reflection;

namespace Federated.Operator;

/// <summary>
/// The layout of a local run folder (a federation started on this machine): certificates, the coordinator's address
/// file, pid files, each host's own folder. The launcher writes it; the operator tools read it for their defaults.
/// </summary>
public sealed record RunFolder(string Root)
{
    public const string CoordinatorName = "coordinator";
    public const string MusicName = "music";
    public const string ExternalName = "external";
    public const string OperatorName = "operator";

    public string Certificates => Path.Combine(Root, "certs");
    public string CoordinatorAddressFile => Path.Combine(Root, "coordinator.address");
    public string PidFile(string host) => Path.Combine(Root, "pids", host + ".pid");
    public string PidDirectory => Path.Combine(Root, "pids");
    public string HostFolder(string host) => Path.Combine(Root, host);
    public string LogFile(string host) => Path.Combine(Root, "logs", host + ".log");
    public string ReadyFile(string host) => Path.Combine(Root, host, "ready.json");

    /// <summary>A party's state folder (Agent:StateDirectory); its train jobs are under <c>train/</c> there.</summary>
    public string PartyState(string party) => Path.Combine(Root, party, "state");

    /// <summary>The coordinator's data folder (registry, jobs, audit log).</summary>
    public string CoordinatorData => Path.Combine(Root, CoordinatorName, "data");
    public string AuditDatabase => Path.Combine(CoordinatorData, "audit.db");
    public string RegistryDatabase => Path.Combine(CoordinatorData, "coordinator.db");

    /// <summary>The repository root: the nearest folder above the current one with Federated.sln, else the build's root.</summary>
    public static string RepoRoot(Assembly tool)
    {
        for (var directory = new DirectoryInfo(Environment.CurrentDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Federated.sln")))
                return directory.FullName;
        var built = tool.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepoRoot")?.Value;
        return !string.IsNullOrEmpty(built) && Directory.Exists(built) ? Path.GetFullPath(built) : Environment.CurrentDirectory;
    }

    /// <summary>The git-ignored folder for local federations: &lt;repo&gt;/.federation.</summary>
    public static string FederationRoot(Assembly tool) => Path.Combine(RepoRoot(tool), ".federation");

    /// <summary>The run folder that `federation start` uses and the operator tools default to.</summary>
    public static RunFolder Default(Assembly tool) => new(Path.Combine(FederationRoot(tool), "local"));
}
