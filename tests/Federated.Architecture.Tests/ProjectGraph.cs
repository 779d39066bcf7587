using System.Xml.Linq;

namespace Federated.Architecture.Tests;

/// <summary>The production projects of the repository (coordinator/, party-*/, shared/) and their references, read from the .csproj files.</summary>
internal sealed class ProjectGraph
{
    private ProjectGraph(IReadOnlyDictionary<string, Project> projects) => Projects = projects;

    public sealed record Project(string Name, string Path, IReadOnlyList<string> References, IReadOnlyList<string> Packages);

    public IReadOnlyDictionary<string, Project> Projects { get; }

    public static string RepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Federated.sln")))
                return directory.FullName;
        throw new InvalidOperationException($"no Federated.sln above {AppContext.BaseDirectory}");
    }

    public static ProjectGraph Load(string root)
    {
        var files = new[] { "coordinator", "shared" }.Concat(Directory.GetDirectories(root, "party-*").Select(System.IO.Path.GetFileName))
            .SelectMany(folder => Directory.EnumerateFiles(System.IO.Path.Combine(root, folder!), "*.csproj", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{System.IO.Path.DirectorySeparatorChar}obj{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{System.IO.Path.DirectorySeparatorChar}bin{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        var projects = new Dictionary<string, Project>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var xml = XDocument.Load(file);
            var references = xml.Descendants("ProjectReference")
                // Build-only references (the demo tool building the hosts, analyzers) are not assembly arrows.
                .Where(r => !string.Equals((string?)r.Attribute("ReferenceOutputAssembly"), "false", StringComparison.OrdinalIgnoreCase))
                .Select(r => System.IO.Path.GetFileNameWithoutExtension(((string)r.Attribute("Include")!).Replace('\\', '/')))
                .ToArray();
            var packages = xml.Descendants("PackageReference").Select(p => (string)p.Attribute("Include")!).ToArray();
            var name = System.IO.Path.GetFileNameWithoutExtension(file);
            projects[name] = new Project(name, System.IO.Path.GetRelativePath(root, file), references, packages);
        }
        return new ProjectGraph(projects);
    }

    /// <summary>Every project and package <paramref name="name"/> reaches through assembly references (packages as "package:Id").</summary>
    public IReadOnlySet<string> Reach(string name)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>([name]);
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            if (!Projects.TryGetValue(current, out var project)) continue;
            foreach (var package in project.Packages) seen.Add("package:" + package);
            foreach (var reference in project.References)
                if (seen.Add(reference)) stack.Push(reference);
        }
        return seen;
    }
}
