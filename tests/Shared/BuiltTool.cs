namespace Federated.Tests.Shared;

/// <summary>The assembly of a command the solution builds beside the test (same configuration and framework).</summary>
public static class BuiltTool
{
    /// <summary>
    /// <c>&lt;repo&gt;/&lt;projectFolder&gt;/bin/&lt;configuration&gt;/&lt;framework&gt;/&lt;dll&gt;</c>, found from the test's output folder up to
    /// the solution; throws naming the project to build when it is missing.
    /// </summary>
    public static (string RepoRoot, string Dll) Find(string projectFolder, string dll)
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = output.Name, configuration = output.Parent!.Name;
        var root = RepoRoot();
        var path = Path.Combine(root, projectFolder, "bin", configuration, framework, dll);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing: build {projectFolder}", path);
        return (root, path);
    }

    /// <summary>The folder holding Federated.sln, above the test's output folder.</summary>
    public static string RepoRoot()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        for (var directory = output; directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Federated.sln")))
                return directory.FullName;
        throw new InvalidOperationException($"no Federated.sln above {output.FullName}");
    }
}
