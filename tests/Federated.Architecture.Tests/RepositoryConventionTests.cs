using System.Text.RegularExpressions;

namespace Federated.Architecture.Tests;

/// <summary>
/// Conventions of the repository's sources and documents: one test-naming style, every relative link in a document
/// resolves to a file the repository holds, and product code and documents speak of the product, not of planning.
/// </summary>
public sealed partial class RepositoryConventionTests
{
    private static readonly string Root = ProjectGraph.RepoRoot();

    private static readonly string[] ProductFolders = ["coordinator", "shared", "party-music", "party-external", "deploy", "docs"];

    [Fact]
    public void Test_methods_are_named_as_sentences_with_underscores()
    {
        var files = SourceFiles(Path.Combine(Root, "tests"), "*.cs").ToArray();
        Assert.NotEmpty(files);
        var offenders = new List<string>();
        var seen = 0;
        foreach (var file in files)
            foreach (var name in TestMethodNames(File.ReadAllLines(file)))
            {
                seen++;
                if (!SentenceName().IsMatch(name)) offenders.Add($"{Path.GetRelativePath(Root, file)}: {name}");
            }
        Assert.True(seen > 100, $"only {seen} test methods found: the scan no longer sees the tests");
        Assert.True(offenders.Count == 0, "test names must be sentences with underscores (First_word_then_words):\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void The_name_check_tells_a_sentence_from_a_pascal_case_name()
    {
        string[] source =
        [
            "    [Fact]",
            "    public void EncryptDecryptRoundTrip() { }",
            "    [Theory]",
            "    [InlineData(1)]",
            "    public async Task Refuses_a_replayed_message(int n) { }",
        ];
        var names = TestMethodNames(source).ToArray();
        Assert.Equal(["EncryptDecryptRoundTrip", "Refuses_a_replayed_message"], names);
        Assert.DoesNotMatch(SentenceName(), names[0]);
        Assert.Matches(SentenceName(), names[1]);
    }

    [Fact]
    public void Every_relative_link_in_a_document_names_a_file_the_repository_holds()
    {
        var documents = SourceFiles(Root, "*.md").ToArray();
        Assert.True(documents.Length > 10, $"only {documents.Length} documents found");
        var broken = new List<string>();
        foreach (var document in documents)
            foreach (Match link in MarkdownLink().Matches(File.ReadAllText(document)))
            {
                var target = link.Groups["target"].Value.Trim();
                if (target.Length == 0 || target.StartsWith('#') || target.Contains("://", StringComparison.Ordinal)
                    || target.StartsWith("mailto:", StringComparison.Ordinal))
                    continue;
                var path = target.Split('#')[0];
                var full = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(document)!, path));
                var inside = full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
                if (!inside || (!File.Exists(full) && !Directory.Exists(full)))
                    broken.Add($"{Path.GetRelativePath(Root, document)}: ({target}){(inside ? "" : " points outside the repository")}");
            }
        Assert.True(broken.Count == 0, "broken links:\n" + string.Join("\n", broken));
    }

    [Fact]
    public void Product_files_cite_only_the_repository_protocol_document_and_carry_no_planning_words()
    {
        // Built from parts so that this file does not match itself.
        var foreignProtocol = "PROTOCOL" + ".md";
        var planning = new Regex(@"\bissues?\s+#?\d+|\bwave\s+\d+\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
        var files = ProductFolders.Select(f => Path.Combine(Root, f)).Where(Directory.Exists)
            .SelectMany(f => SourceFiles(f, "*.*"))
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".md", StringComparison.Ordinal)
                || f.EndsWith(".proto", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)
                || f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Append(Path.Combine(Root, "README.md"))
            .ToArray();
        Assert.True(files.Length > 100, $"only {files.Length} product files found");
        var problems = new List<string>();
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Contains(foreignProtocol, StringComparison.Ordinal))
                    problems.Add($"{Path.GetRelativePath(Root, file)}:{i + 1} cites {foreignProtocol}; cite docs/protocol.md");
                if (planning.IsMatch(lines[i]))
                    problems.Add($"{Path.GetRelativePath(Root, file)}:{i + 1} speaks of planning: {lines[i].Trim()}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_analyzer_rules_are_errors_in_every_build()
    {
        var props = System.Xml.Linq.XDocument.Load(Path.Combine(Root, "Directory.Build.props"));
        string? Property(string name) => props.Descendants(name).Select(e => e.Value.Trim()).FirstOrDefault();
        Assert.Equal("true", Property("TreatWarningsAsErrors"));
        Assert.Equal("true", Property("EnforceCodeStyleInBuild"));
        var editorconfig = File.ReadAllText(Path.Combine(Root, ".editorconfig"));
        foreach (var rule in new[] { "CA2016", "CA2012", "CA1001", "CA2213", "CA1806", "IDE1006", "CA2007", "CA1849" })
            Assert.Matches($@"dotnet_diagnostic\.{rule}\.severity\s*=\s*warning", editorconfig);
    }

    [Fact]
    public void Every_central_package_version_is_referenced_by_some_project()
    {
        var central = System.Xml.Linq.XDocument.Load(Path.Combine(Root, "Directory.Packages.props"))
            .Descendants("PackageVersion").Select(p => (string)p.Attribute("Include")!).ToArray();
        Assert.True(central.Length > 5, $"only {central.Length} central package versions found");
        var referenced = SourceFiles(Root, "*.*")
            .Where(f => f.EndsWith(".csproj", StringComparison.Ordinal) || (f.EndsWith(".props", StringComparison.Ordinal) || f.EndsWith(".targets", StringComparison.Ordinal)) && !f.EndsWith("Directory.Packages.props", StringComparison.Ordinal))
            .SelectMany(f => System.Xml.Linq.XDocument.Load(f).Descendants().Where(e => e.Name.LocalName is "PackageReference" or "GlobalPackageReference"))
            .Select(e => (string?)e.Attribute("Include") ?? (string?)e.Attribute("Update") ?? "")
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var unused = central.Where(p => !referenced.Contains(p)).ToArray();
        Assert.True(unused.Length == 0, "central package versions no project references: " + string.Join(", ", unused));
    }

    /// <summary>Names of the methods marked [Fact] or [Theory] (other attributes between are skipped).</summary>
    internal static IEnumerable<string> TestMethodNames(IReadOnlyList<string> lines)
    {
        var pending = false;
        foreach (var line in lines)
        {
            var text = line.Trim();
            if (TestAttribute().IsMatch(text)) { pending = true; continue; }
            if (!pending || text.StartsWith('[')) continue;
            pending = false;
            var declaration = MethodDeclaration().Match(text);
            if (declaration.Success) yield return declaration.Groups["name"].Value;
        }
    }

    private static IEnumerable<string> SourceFiles(string folder, string pattern) =>
        Directory.EnumerateFiles(folder, pattern, SearchOption.AllDirectories).Where(f =>
        {
            var relative = Path.GetRelativePath(Root, f).Replace('\\', '/');
            return !relative.Split('/').Any(part => part is "bin" or "obj" or ".git" or "node_modules" or ".federation" or "TestResults");
        });

    [GeneratedRegex(@"^\[(Fact|Theory)\b")]
    private static partial Regex TestAttribute();

    [GeneratedRegex(@"^public\s+(?:static\s+)?(?:async\s+)?(?:Task|ValueTask|void)\s+(?<name>[A-Za-z_0-9]+)\s*\(")]
    private static partial Regex MethodDeclaration();

    [GeneratedRegex(@"^[A-Z0-9][A-Za-z0-9]*(_[A-Za-z0-9]+)+$")]
    private static partial Regex SentenceName();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();
}
