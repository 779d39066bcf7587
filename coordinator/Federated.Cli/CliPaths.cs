using System.Reflection;

namespace Federated.Cli;

/// <summary>Where the CLI finds the repository, run folders and host binaries.</summary>
public static class CliPaths
{
    /// <summary>The repository root: the nearest folder above the current one with Federated.sln, else the build's root.</summary>
    public static string RepoRoot()
    {
        for (var directory = new DirectoryInfo(Environment.CurrentDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Federated.sln")))
                return directory.FullName;
        var built = typeof(CliPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepoRoot")?.Value;
        return !string.IsNullOrEmpty(built) && Directory.Exists(built) ? Path.GetFullPath(built) : Environment.CurrentDirectory;
    }

    /// <summary>The git-ignored folder for local federations: &lt;repo&gt;/.federation.</summary>
    public static string FederationRoot() => Path.Combine(RepoRoot(), ".federation");

    public static string DefaultRunDirectory() => Path.Combine(FederationRoot(), "local");
}
