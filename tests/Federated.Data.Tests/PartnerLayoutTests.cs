using System.Text;
using Federated.Data.Reading;
using Federated.Data.Schema;
using Federated.Data.Writing;

namespace Federated.Data.Tests;

/// <summary>
/// Partner files in their own layouts, loaded through schema files: tab-separated ratings without a header, a
/// pipe-separated Latin-1 item table with dd-MMM-yyyy dates, a pipe-separated users table.
/// </summary>
public sealed class PartnerLayoutTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string RatingsSchema = """
        {
          "formatVersion": 1,
          "table": "ratings",
          "role": "Interactions",
          "file": "ratings.data",
          "csv": { "delimiter": "\t", "header": false },
          "roles": { "user": "user", "song": "item", "time": "at" },
          "columns": [
            { "name": "user", "kind": "Id" },
            { "name": "item", "kind": "Id" },
            { "name": "rating", "kind": "Numeric", "min": 1, "max": 5 },
            { "name": "at", "kind": "Timestamp", "timestampFormat": "UnixSeconds" },
          ]
        }
        """;

    private const string ItemsSchema = """
        {
          "table": "items",
          "role": "Other",
          "key": "item",
          "file": "items.item",
          "csv": { "encoding": "latin1", "delimiter": "|", "header": false, "quoting": "None" },
          "columns": [
            { "name": "item", "kind": "Id" },
            { "name": "title", "kind": "Categorical", "feature": false },
            { "name": "released", "kind": "Timestamp", "timestampFormat": "Pattern", "timestampPattern": "dd-MMM-yyyy" },
            { "name": "video", "kind": "Timestamp", "timestampFormat": "Pattern", "timestampPattern": "dd-MMM-yyyy", "nullable": true },
            { "name": "url", "kind": "Categorical", "feature": false },
            { "name": "comedy", "kind": "Flag" },
            { "name": "drama", "kind": "Flag" },
          ]
        }
        """;

    // Latin-1 bytes: é = 0xE9, ë = 0xEB, ê = 0xEA, à = 0xE0; quotes in a title are ordinary characters with quoting None.
    private static readonly string[] ItemLines =
    [
        "1|Café Society (1995)|01-Jan-1995||http://example.org/Caf%E9|1|0",
        "2|Wuthering Heights, Brontë (1939)|24-Mar-1939|05-Jul-1999|http://example.org/wh|0|1",
        "3|\"Ready to Wear\" (Prêt-à-Porter) (1994)|15-Dec-1994||http://example.org/rtw|1|1",
    ];

    private string WriteSchema(string name, string json) => _dir.Write(name, json);

    private string WriteBytes(string name, byte[] bytes)
    {
        var path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string Lines(IEnumerable<string> lines) => string.Join("\n", lines) + "\n";

    [Fact]
    public async Task Tab_separated_ratings_without_header_load_in_schema_order()
    {
        WriteBytes("ratings.data", Encoding.ASCII.GetBytes("196\t242\t3\t881250949\n186\t302\t3\t891717742\r\n\n22\t377\t1\t878887116\n"));
        var schemaPath = WriteSchema("ratings.schema.json", RatingsSchema);

        await using var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath);
        var rows = await reader.ToListAsync();

        Assert.Equal(3, rows.Count);                                   // the blank line is not a row
        Assert.Equal(["196", "186", "22"], rows.Select(r => r.GetText("user")));
        Assert.Equal(["242", "302", "377"], rows.Select(r => r.GetText("item")));
        Assert.Equal([3.0, 3.0, 1.0], rows.Select(r => r.GetNumber("rating")));
        Assert.Equal(881250949, rows[0].GetNumber("at"));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(878887116), rows[2].GetTimestamp(3));
        Assert.Equal([1L, 2L, 4L], rows.Select(r => r.Location.Line));   // no header: the first record is line 1
        var plays = Interactions.Project(rows).ToList();
        Assert.Equal(("186", "302"), (plays[1].User, plays[1].Song));
        Assert.Equal(3, reader.Report.RowsAccepted);
    }

    [Fact]
    public async Task Pipe_separated_latin1_items_decode_text_and_dates_exactly()
    {
        var path = WriteBytes("items.item", Encoding.Latin1.GetBytes(Lines(ItemLines)));
        var bytes = File.ReadAllBytes(path);
        Assert.Contains((byte)0xE9, bytes);                       // the file really is Latin-1, not UTF-8
        Assert.DoesNotContain((byte)0xC3, bytes);
        var schemaPath = WriteSchema("items.schema.json", ItemsSchema);

        await using var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath);
        var rows = await reader.ToListAsync();

        Assert.Equal(3, rows.Count);
        Assert.Equal("Café Society (1995)", rows[0].GetText("title"));
        Assert.Equal("Wuthering Heights, Brontë (1939)", rows[1].GetText("title"));
        Assert.Equal("\"Ready to Wear\" (Prêt-à-Porter) (1994)", rows[2].GetText("title"));
        Assert.Equal("http://example.org/Caf%E9", rows[0].GetText("url"));
        Assert.Equal(788918400, rows[0].GetNumber("released"));   // 1995-01-01T00:00:00Z in Unix seconds
        Assert.Equal(new DateTimeOffset(1939, 3, 24, 0, 0, 0, TimeSpan.Zero), rows[1].GetTimestamp(2));
        Assert.Equal(-971222400, rows[1].GetNumber("released"));  // before 1970: negative seconds
        Assert.Equal(1994, rows[2].GetTimestamp(2)!.Value.Year);
        Assert.Null(rows[0].GetTimestamp(3));                     // empty, nullable
        Assert.Equal(new DateTimeOffset(1999, 7, 5, 0, 0, 0, TimeSpan.Zero), rows[1].GetTimestamp(3));
        Assert.Equal([true, false, true], rows.Select(r => r.GetFlag(5)!.Value));
        Assert.Equal(["1", "2", "3"], rows.Select(r => r.Key));
    }

    [Fact]
    public async Task Windows_1252_decodes_the_characters_latin1_leaves_as_controls()
    {
        // 0x80 is € and 0x93/0x94 are curly quotes in windows-1252; Latin-1 has control characters there.
        var line = new byte[] { (byte)'7', (byte)'|' }
            .Concat(Encoding.Latin1.GetBytes("Caf\u00e9 "))
            .Concat(new byte[] { 0x93, (byte)'9', (byte)' ', 0x80, 0x94, (byte)'\n' }).ToArray();
        WriteBytes("c.txt", line);
        string Schema(string encoding) => $$"""
            { "table": "t", "role": "Other", "file": "c.txt",
              "csv": { "encoding": "{{encoding}}", "delimiter": "|", "header": false },
              "columns": [ { "name": "id", "kind": "Id" }, { "name": "name", "kind": "Categorical" } ] }
            """;

        await using (var cp = await TableReader.OpenFromSchemaFileAsync(WriteSchema("cp.schema.json", Schema("windows-1252"))))
            Assert.Equal("Café \u201c9 \u20ac\u201d", Assert.Single(await cp.ToListAsync()).GetText("name"));
        await using (var latin = await TableReader.OpenFromSchemaFileAsync(WriteSchema("l1.schema.json", Schema("iso-8859-1"))))
            Assert.Equal("Café \u00939 \u0080\u0094", Assert.Single(await latin.ToListAsync()).GetText("name"));
    }

    [Fact]
    public async Task Pipe_separated_users_with_header_keep_rfc4180_quoting()
    {
        // The delimiter inside a quoted field is text; tokens of a multi-categorical cell are '|'-separated, so they are quoted.
        WriteBytes("users.txt", [.. Encoding.UTF8.Preamble, .. Encoding.UTF8.GetBytes(
            "user|age|gender|occupation|zip|likes\n1|24|M|technician|85711|\"jazz|rock\"\n2|53|F|\"writer | editor\"|T8H1N|\n3|23|M|writer|\"32\"\"067\"|folk\n")]);
        var schemaPath = WriteSchema("users.schema.json", """
            { "table": "users", "role": "Users", "key": "user", "file": "users.txt",
              "csv": { "delimiter": "|" },
              "columns": [
                { "name": "user", "kind": "Id" }, { "name": "age", "kind": "Numeric", "min": 0 },
                { "name": "gender", "kind": "Categorical" }, { "name": "occupation", "kind": "Categorical" },
                { "name": "zip", "kind": "Categorical" }, { "name": "likes", "kind": "MultiCategorical" } ] }
            """);

        await using var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath);
        var rows = await reader.ToListAsync();

        Assert.Equal(3, rows.Count);
        Assert.Equal("1", rows[0].Key);                           // the UTF-8 byte-order mark is not part of the header
        Assert.Equal(["jazz", "rock"], rows[0].GetTokens("likes"));
        Assert.Equal("writer | editor", rows[1].GetText("occupation"));
        Assert.Empty(rows[1].GetTokens("likes"));
        Assert.Equal("32\"067", rows[2].GetText("zip"));
        Assert.Equal([24.0, 53.0, 23.0], rows.Select(r => r.GetNumber("age")));
        Assert.Equal([2L, 3L, 4L], rows.Select(r => r.Location.Line));   // header is line 1
    }

    [Fact]
    public async Task A_bad_date_cell_names_file_line_and_column()
    {
        var lines = ItemLines.ToArray();
        lines[1] = lines[1].Replace("24-Mar-1939", "1939-03-24");
        var path = WriteBytes("items.item", Encoding.Latin1.GetBytes(Lines(lines)));
        var schemaPath = WriteSchema("items.schema.json", ItemsSchema);

        await using var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath);
        var read = new List<string?>();
        var error = await Assert.ThrowsAsync<BadRowException>(async () => { await foreach (var row in reader) read.Add(row.Key); });

        Assert.Equal(["1"], read);
        Assert.Equal(path, error.Row.Location.File);
        Assert.Equal(2, error.Row.Location.Line);
        Assert.Equal("released", error.Row.Column);
        Assert.Equal(BadRowKind.BadTimestamp, error.Row.Kind);
        Assert.Contains($"{path}: line 2, column 'released': '1939-03-24' is not a date in the declared pattern 'dd-MMM-yyyy'", error.Message);
    }

    [Fact]
    public async Task Bad_date_rows_are_quarantined_with_their_decoded_text()
    {
        var lines = ItemLines.ToArray();
        lines[0] = lines[0].Replace("01-Jan-1995", "01-Janvier-1995");
        var path = WriteBytes("items.item", Encoding.Latin1.GetBytes(Lines(lines)));
        var schemaPath = WriteSchema("items.schema.json", ItemsSchema);

        await using (var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath, new ReadOptions { Policy = BadRowPolicy.Quarantine }))
        {
            Assert.Equal(["2", "3"], (await reader.ToListAsync()).Select(r => r.Key));
            Assert.Equal(1, reader.Report.RowsQuarantined);
        }

        var quarantine = File.ReadAllLines(path + ".quarantine.csv", Encoding.UTF8);
        Assert.Equal(2, quarantine.Length);
        Assert.StartsWith("line 1,released,", quarantine[1]);
        Assert.Contains("Café Society (1995)", quarantine[1]);
    }

    [Fact]
    public async Task A_utf8_file_declared_latin1_reads_without_error_as_latin1_characters()
    {
        // Documented: a single-byte encoding decodes every byte, so UTF-8 'é' (C3 A9) reads as the two characters 'Ã©'.
        WriteBytes("items.item", Encoding.UTF8.GetBytes(Lines(ItemLines)));
        var schemaPath = WriteSchema("items.schema.json", ItemsSchema);

        await using var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath);
        var rows = await reader.ToListAsync();

        Assert.Equal(3, rows.Count);
        Assert.Equal("Caf\u00c3\u00a9 Society (1995)", rows[0].GetText("title"));
        Assert.Equal("Wuthering Heights, Bront\u00c3\u00ab (1939)", rows[1].GetText("title"));
        Assert.Equal(788918400, rows[0].GetNumber("released"));
    }

    [Fact]
    public async Task A_latin1_file_left_declared_utf8_reads_replacement_characters()
    {
        // Documented: UTF-8 replaces bytes that are not UTF-8 (as it always has), so the encoding must be declared.
        WriteBytes("items.item", Encoding.Latin1.GetBytes(Lines(ItemLines)));
        var schemaPath = WriteSchema("items.schema.json", ItemsSchema.Replace("\"encoding\": \"latin1\", ", ""));
        Assert.DoesNotContain("latin1", File.ReadAllText(schemaPath));

        await using var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath);
        Assert.Equal("Caf\uFFFD Society (1995)", (await reader.ToListAsync())[0].GetText("title"));
    }

    [Fact]
    public async Task The_documented_items_schema_ignores_trailing_fields_of_a_headerless_file()
    {
        // The example in shared/Federated.Data/README.md: five declared columns, then nineteen genre flags ignored.
        var flags = string.Join("|", Enumerable.Repeat("0", 19));
        WriteBytes("items.item", Encoding.Latin1.GetBytes(Lines([
            $"1|Café Society (1995)|01-Jan-1995||http://example.org/1|{flags}",
            $"2|Brontë (1939)|24-Mar-1939|05-Jul-1999|http://example.org/2|{flags}",
        ])));
        var schemaPath = WriteSchema("items.schema.json", """
            {
              "formatVersion": 1,
              "table": "items",
              "role": "Other",
              "key": "item",
              "file": "items.item",
              "csv": { "encoding": "latin1", "delimiter": "|", "header": false, "quoting": "None" },
              "allowExtraColumns": true,        // without a header: fields after the declared columns are ignored
              "columns": [
                { "name": "item", "kind": "Id" },
                { "name": "title", "kind": "Categorical", "feature": false },
                { "name": "released", "kind": "Timestamp", "timestampFormat": "Pattern", "timestampPattern": "dd-MMM-yyyy" },
                { "name": "videoReleased", "kind": "Timestamp", "timestampFormat": "Pattern", "timestampPattern": "dd-MMM-yyyy", "nullable": true },
                { "name": "url", "kind": "Categorical", "feature": false }
              ]
            }
            """);

        await using var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath);
        var rows = await reader.ToListAsync();

        Assert.Equal(["Café Society (1995)", "Brontë (1939)"], rows.Select(r => r.GetText("title")));
        Assert.Equal([788918400.0, -971222400.0], rows.Select(r => r.GetNumber("released")));
        Assert.Equal("http://example.org/2", rows[1].GetText("url"));
    }

    [Fact]
    public async Task Without_a_header_the_field_count_is_the_schemas_and_extra_trailing_fields_need_allowExtraColumns()
    {
        WriteBytes("ratings.data", Encoding.ASCII.GetBytes("1\t2\t3\t881250949\textra\n"));
        var schemaPath = WriteSchema("ratings.schema.json", RatingsSchema);
        await using (var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath))
        {
            var error = await Assert.ThrowsAsync<BadRowException>(() => reader.ToListAsync().AsTask());
            Assert.Equal(BadRowKind.ColumnCount, error.Row.Kind);
            Assert.Contains("wrong column count: 5 fields, the schema declares 4 columns (the file has no header", error.Message);
        }

        var lenient = WriteSchema("lenient.schema.json", RatingsSchema.Replace("\"columns\":", "\"allowExtraColumns\": true, \"columns\":"));
        await using (var reader = await TableReader.OpenFromSchemaFileAsync(lenient))
            Assert.Equal(881250949, Assert.Single(await reader.ToListAsync()).GetNumber("at"));

        WriteBytes("ratings.data", Encoding.ASCII.GetBytes("1\t2\t3\n"));
        await using (var reader = await TableReader.OpenFromSchemaFileAsync(lenient))
            Assert.Equal(BadRowKind.ColumnCount, (await Assert.ThrowsAsync<BadRowException>(() => reader.ToListAsync().AsTask())).Row.Kind);
    }

    [Theory]
    [InlineData("\"encoding\": \"utf-7\"", "csv.encoding 'utf-7' is not supported")]
    [InlineData("\"encoding\": \"ebcdic\", \"delimiter\": \",\"", "csv.encoding 'ebcdic' is not supported")]
    [InlineData("\"delimiter\": \":\"", "csv.delimiter ':' is not supported")]
    [InlineData("\"delimiter\": \"\\t\\t\"", "csv.delimiter '\\t\\t' is not supported")]
    [InlineData("\"quoting\": \"Sometimes\"", "$.csv.quoting")]
    [InlineData("\"header\": \"no\"", "$.csv.header")]
    [InlineData("\"delimeter\": \"|\"", "delimeter")]
    public void Unknown_csv_options_are_refused_naming_the_schema_file_and_the_field(string options, string expected)
    {
        var path = WriteSchema("bad.schema.json", RatingsSchema.Replace("\"delimiter\": \"\\t\", \"header\": false", options));
        Assert.Contains(options, File.ReadAllText(path));          // the replacement really happened

        var error = Assert.Throws<SchemaException>(() => TableSchema.Load(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("\"timestampFormat\": \"Pattern\"", "column 'at': timestampPattern is required")]
    [InlineData("\"timestampFormat\": \"Pattern\", \"timestampPattern\": \"dd-MMM\"", "column 'at': timestampPattern 'dd-MMM' has no year")]
    [InlineData("\"timestampFormat\": \"UnixSeconds\", \"timestampPattern\": \"yyyy\"", "column 'at': timestampPattern is only for timestamps with timestampFormat Pattern")]
    [InlineData("\"timestampFormat\": \"Epoch\"", "$.columns[3].timestampFormat")]
    public void Bad_timestamp_patterns_are_refused_naming_the_column(string options, string expected)
    {
        var path = WriteSchema("bad.schema.json", RatingsSchema.Replace("\"timestampFormat\": \"UnixSeconds\"", options));
        Assert.Contains(options, File.ReadAllText(path));

        var error = Assert.Throws<SchemaException>(() => TableSchema.Load(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Csv_options_for_a_parquet_file_or_a_delimiter_that_collides_without_quoting_are_refused()
    {
        var parquet = WriteSchema("p.schema.json", RatingsSchema.Replace("ratings.data", "ratings.parquet"));
        var schema = TableSchema.Load(parquet);
        Assert.Contains("csv options are given", Assert.Throws<SchemaException>(() => schema.FormatOf(schema.ResolveDataPath(parquet))).Message);
        var declared = WriteSchema("f.schema.json", RatingsSchema.Replace("\"file\":", "\"format\": \"Parquet\", \"file\":"));
        Assert.Contains("csv options are given but the format is Parquet", Assert.Throws<SchemaException>(() => TableSchema.Load(declared)).Message);

        var tokens = WriteSchema("m.schema.json", """
            { "table": "t", "role": "Other", "csv": { "delimiter": "|", "quoting": "None" },
              "columns": [ { "name": "id", "kind": "Id" }, { "name": "tags", "kind": "MultiCategorical" } ] }
            """);
        Assert.Contains("column 'tags': multi-categorical tokens are separated by '|', which is also csv.delimiter",
            Assert.Throws<SchemaException>(() => TableSchema.Load(tokens)).Message);
    }

    [Fact]
    public void Csv_options_round_trip_through_the_schema_file_and_are_absent_by_default()
    {
        var items = TableSchema.Parse(ItemsSchema);
        var path = _dir.File("items.schema.json");
        items.Save(path);
        var loaded = TableSchema.Load(path);

        Assert.Equal(items.Csv, loaded.Csv);
        Assert.False(loaded.CsvLayout.Header);
        Assert.Equal('|', loaded.CsvLayout.DelimiterChar);
        Assert.Equal(CsvQuoting.None, loaded.CsvLayout.Quoting);
        Assert.Equal("dd-MMM-yyyy", loaded.Columns[2].TimestampPattern);
        Assert.Equal(TimestampFormat.Pattern, loaded.Columns[2].TimestampFormat);

        var plain = Schemas.Tracks();
        Assert.Null(plain.Csv);
        Assert.DoesNotContain("csv", plain.ToJson());
        Assert.DoesNotContain("timestampPattern", plain.ToJson());
        Assert.True(plain.CsvLayout.IsDefaultLayout);
    }

    [Fact]
    public async Task Pattern_timestamps_are_written_in_their_pattern_and_read_back()
    {
        var schema = new TableSchema
        {
            Table = "films", Role = TableRole.Other, Key = "id",
            Columns =
            [
                new ColumnSpec { Name = "id", Kind = ColumnKind.Id },
                new ColumnSpec { Name = "released", Kind = ColumnKind.Timestamp, TimestampFormat = TimestampFormat.Pattern, TimestampPattern = "dd-MMM-yyyy" },
            ],
        };
        foreach (var name in new[] { "films.csv", "films.parquet" })
        {
            var path = _dir.File(name);
            await using (var writer = await TableWriter.CreateAsync(schema, path))
                await writer.WriteAsync(new Rows.DataRow(schema).SetText(0, "f1").SetTimestamp(1, new DateTimeOffset(1995, 1, 1, 0, 0, 0, TimeSpan.Zero)));
            if (name.EndsWith(".csv")) Assert.Equal("id,released\nf1,01-Jan-1995\n", File.ReadAllText(path));
            await using var reader = await TableReader.OpenAsync(schema, path);
            Assert.Equal(788918400, Assert.Single(await reader.ToListAsync()).GetNumber("released"));
        }
    }

    [Fact]
    public async Task The_csv_writer_refuses_a_schema_declaring_another_layout()
    {
        var ratings = TableSchema.Parse(RatingsSchema);
        var error = await Assert.ThrowsAsync<SchemaException>(() => TableWriter.CreateAsync(ratings, _dir.File("out.csv")));
        Assert.Contains("the schema declares another csv layout", error.Message);
        Assert.False(File.Exists(_dir.File("out.csv")));

        var spelledDefault = ratings with { Csv = new CsvOptions { Encoding = "UTF8", Delimiter = "," } };
        await using var writer = await TableWriter.CreateAsync(spelledDefault, _dir.File("ok.csv"));
        Assert.Equal(0, writer.RowsWritten);
    }
}
