using Federated.Data.Schema;

namespace Federated.Data.Tests;

public sealed class SchemaTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Schema_round_trips_through_its_json_file()
    {
        var schema = Schemas.Tracks();
        var path = _dir.File("tracks.schema.json");
        schema.Save(path);
        var loaded = TableSchema.Load(path);

        Assert.Equal(schema.Key, loaded.Key);
        Assert.Equal(schema.Columns.Select(c => (c.Name, c.Kind, c.Nullable, c.Width, c.Strict)),
            loaded.Columns.Select(c => (c.Name, c.Kind, c.Nullable, c.Width, c.Strict)));
        Assert.Equal(["a", "b", "c"], loaded.Columns[1].Categories!);
        Assert.Equal("track", loaded.Roles[InteractionRoles.Song]);
        Assert.Contains("\"kind\": \"Vector\"", File.ReadAllText(path));
    }

    [Fact]
    public void Partner_written_json_with_comments_is_accepted()
    {
        var schema = TableSchema.Parse("""
            {
              // a partner's own names
              "table": "plays", "role": "Interactions", "format": "Csv", "description": "a partner's log",
              "roles": { "user": "member", "song": "item", "listenRatio": "share" },
              "columns": [
                { "name": "member", "kind": "Id" },
                { "name": "item", "kind": "Id" },
                { "name": "share", "kind": "Numeric", "min": 0, "max": 1 },
              ]
            }
            """);
        Assert.Equal(2, schema.RoleIndex(InteractionRoles.ListenRatio));
        Assert.Equal(-1, schema.KeyIndex);
        Assert.Equal(TableFormat.Csv, schema.FormatOf("plays.txt"));
    }

    [Theory]
    [InlineData("""{"table":"t","role":"Songs","key":"k","columns":[{"name":"k","kind":"Id"},{"name":"v","kind":"Vector"}]}""", "column 'v': a vector needs a positive width")]
    [InlineData("""{"table":"t","role":"Songs","key":"k","columns":[{"name":"k","kind":"Id"},{"name":"g","kind":"Categorical","strict":true}]}""", "column 'g': strict mode needs the list of categories")]
    [InlineData("""{"table":"t","role":"Songs","key":"nope","columns":[{"name":"k","kind":"Id"}]}""", "key 'nope' is not a column")]
    [InlineData("""{"table":"t","role":"Users","columns":[{"name":"k","kind":"Id"}]}""", "a Users table needs a key column")]
    [InlineData("""{"table":"t","role":"Interactions","roles":{"user":"u"},"columns":[{"name":"u","kind":"Id"}]}""", "an interactions table needs the role 'song'")]
    [InlineData("""{"table":"t","role":"Interactions","roles":{"user":"u","song":"s","play":"u"},"columns":[{"name":"u","kind":"Id"},{"name":"s","kind":"Id"}]}""", "role 'play' needs a Flag column but 'u' is Id")]
    [InlineData("""{"table":"t","role":"Songs","key":"k","columns":[{"name":"k","kind":"Id"},{"name":"k","kind":"Numeric"}]}""", "column 'k' is declared twice")]
    [InlineData("""{"table":"t","role":"Songs","key":"k","columns":[{"name":"k","kind":"Id"},{"name":"t","kind":"Timestamp"}]}""", "column 't': a timestamp needs timestampFormat")]
    public void Inconsistent_schemas_are_rejected_with_the_reason(string json, string expected)
    {
        var error = Assert.Throws<SchemaException>(() => TableSchema.Parse(json));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Unknown_schema_properties_are_rejected_rather_than_ignored()
    {
        var error = Assert.Throws<SchemaException>(() => TableSchema.Parse(
            """{"table":"t","role":"Songs","key":"k","colums":[],"columns":[{"name":"k","kind":"Id"}]}"""));
        Assert.Contains("colums", error.Message);
    }
}
