namespace Federated.Architecture.Tests;

/// <summary>The project graph of the .csproj files is the one docs/architecture.md draws, and no forbidden arrow appears.</summary>
public sealed class ProjectGraphTests
{
    private static readonly string Root = ProjectGraph.RepoRoot();
    private static readonly ProjectGraph Graph = ProjectGraph.Load(Root);
    private static readonly ArchitectureDocument Document = ArchitectureDocument.Load(Path.Combine(Root, "docs", "architecture.md"));

    [Fact]
    public void Every_project_and_reference_is_the_documented_one()
    {
        var problems = new List<string>();
        foreach (var project in Graph.Projects.Values)
        {
            if (!Document.Arrows.TryGetValue(project.Name, out var allowed))
            {
                problems.Add($"{project.Path} is not in docs/architecture.md's arrows block");
                continue;
            }
            foreach (var reference in project.References.Where(r => !allowed.Contains(r)))
                problems.Add($"{project.Path} references {reference}, an arrow docs/architecture.md does not allow");
            foreach (var missing in allowed.Where(a => !project.References.Contains(a)))
                problems.Add($"docs/architecture.md says {project.Name} -> {missing}, but {project.Path} does not reference it");
        }
        foreach (var name in Document.Arrows.Keys.Where(n => !Graph.Projects.ContainsKey(n)))
            problems.Add($"docs/architecture.md lists {name}, which no .csproj defines");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void No_project_reaches_what_it_must_never_reach()
    {
        var problems = new List<string>();
        foreach (var (project, forbidden) in Document.Forbidden)
        {
            Assert.True(Graph.Projects.ContainsKey(project), $"the forbidden block names {project}, which no .csproj defines");
            var reach = Graph.Reach(project);
            problems.AddRange(forbidden.Where(reach.Contains).Select(f => $"{project} reaches {f} (directly or through its references)"));
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_check_sees_a_forbidden_arrow_through_a_chain()
    {
        // The coordinator reaching TorchSharp through a library that reaches it: the transitive walk must see it.
        var reach = Graph.Reach("Federated.PartyMusic");
        Assert.Contains("package:TorchSharp-cpu", reach);
        Assert.Contains("Federated.Learning", reach);
        Assert.DoesNotContain("package:TorchSharp-cpu", Graph.Reach("Federated.Coordinator"));
        Assert.DoesNotContain("package:TorchSharp-cpu", Graph.Reach("Federated.Cli"));
    }
}
