using System.Text.RegularExpressions;

namespace Federated.Architecture.Tests;

/// <summary>The machine-readable blocks of docs/architecture.md: ```arrows (the exact graph) and ```forbidden (never reached).</summary>
internal sealed partial class ArchitectureDocument
{
    public required IReadOnlyDictionary<string, IReadOnlySet<string>> Arrows { get; init; }
    public required IReadOnlyDictionary<string, IReadOnlySet<string>> Forbidden { get; init; }

    public static ArchitectureDocument Load(string path)
    {
        var text = File.ReadAllText(path);
        return new ArchitectureDocument
        {
            Arrows = Parse(Block(text, "arrows", path), "->"),
            Forbidden = Parse(Block(text, "forbidden", path), "!->"),
        };
    }

    private static string Block(string text, string name, string path)
    {
        var match = Regex.Match(text, "```" + name + @"\n(.*?)```", RegexOptions.Singleline);
        return match.Success ? match.Groups[1].Value : throw new InvalidDataException($"{path} has no ```{name} block");
    }

    private static Dictionary<string, IReadOnlySet<string>> Parse(string block, string arrow)
    {
        var result = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var raw in block.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            var parts = line.Split(arrow, 2);
            if (parts.Length != 2) throw new InvalidDataException($"'{line}' is not 'Project {arrow} A, B'");
            var targets = parts[1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
            if (!result.TryAdd(parts[0].Trim(), targets)) throw new InvalidDataException($"{parts[0].Trim()} is listed twice");
        }
        return result;
    }
}
