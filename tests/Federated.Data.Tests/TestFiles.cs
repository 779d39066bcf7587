using Federated.Data.Schema;

namespace Federated.Data.Tests;

/// <summary>A temporary folder per test class, removed afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fed-data-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string content)
    {
        var path = File(name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A small schema with every column kind, named unlike the generator's columns.</summary>
public static class Schemas
{
    public static TableSchema Tracks(bool strictGenre = true) => new()
    {
        Table = "tracks",
        Role = TableRole.Songs,
        Key = "track",
        Roles = new Dictionary<string, string> { [InteractionRoles.Song] = "track" },
        Columns =
        [
            new ColumnSpec { Name = "track", Kind = ColumnKind.Id },
            new ColumnSpec { Name = "style", Kind = ColumnKind.Categorical, Categories = ["a", "b", "c"], Strict = strictGenre },
            new ColumnSpec { Name = "bpm", Kind = ColumnKind.Numeric, Min = 0 },
            new ColumnSpec { Name = "loud", Kind = ColumnKind.Numeric, Nullable = true },
            new ColumnSpec { Name = "tags", Kind = ColumnKind.MultiCategorical },
            new ColumnSpec { Name = "desc", Kind = ColumnKind.Vector, Width = 3 },
            new ColumnSpec { Name = "released", Kind = ColumnKind.Timestamp, TimestampFormat = TimestampFormat.Iso8601 },
            new ColumnSpec { Name = "explicit", Kind = ColumnKind.Flag },
        ],
    };

    public const string TracksHeader = "track,style,bpm,loud,tags,desc,released,explicit";
}
