using Federated.Data.Parquet;
using Federated.Data.Reading;
using Federated.Data.Rows;
using Federated.Data.Schema;
using Federated.Tests.Shared;
using Parquet;
using Parquet.Schema;

namespace Federated.Data.Tests;

public sealed class ParquetReaderTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static DataRow Track(TableSchema schema, string? key, string style = "a", double bpm = 120, float[]? desc = null, double loud = double.NaN, string[]? tags = null) =>
        new DataRow(schema).SetText(0, key).SetText(1, style).SetNumber(2, bpm).SetNumber(3, loud)
            .SetTokens(4, tags ?? []).SetVector(5, desc ?? [1, 2, 3])
            .SetTimestamp(6, new DateTimeOffset(2026, 2, 1, 8, 30, 0, TimeSpan.Zero)).SetFlag(7, true);

    private async Task<string> WriteAsync(int rowGroupSize, params DataRow[] rows)
    {
        var path = _dir.File($"t{Guid.NewGuid():N}.parquet");
        await using var writer = await ParquetTableWriter.CreateAsync(Schemas.Tracks(), path, rowGroupSize);
        foreach (var row in rows) await writer.WriteAsync(row);
        return path;
    }

    [Fact]
    public async Task Rows_round_trip_through_parquet_with_lists_and_missing_values()
    {
        var s = Schemas.Tracks();
        var path = await WriteAsync(2,
            Track(s, "t1", tags: ["x", "y"], loud: -3.25, desc: [0.5f, -1, 1e-7f]),
            Track(s, "t2", style: "b"),
            Track(s, "t3", tags: ["z"]));
        await using var reader = await TableReader.OpenAsync(s, path);
        var rows = await reader.ToListAsync();

        Assert.Equal(["t1", "t2", "t3"], rows.Select(r => r.Key));
        Assert.Equal(["x", "y"], rows[0].GetTokens("tags"));
        Assert.Empty(rows[1].GetTokens("tags"));
        Assert.Equal(["z"], rows[2].GetTokens("tags"));
        Assert.Equal([0.5f, -1, 1e-7f], rows[0].GetVector("desc")!);
        Assert.Equal(-3.25, rows[0].GetNumber("loud"));
        Assert.True(double.IsNaN(rows[1].GetNumber("loud")));
        Assert.Equal("b", rows[1].GetText("style"));
        Assert.Equal(new DateTimeOffset(2026, 2, 1, 8, 30, 0, TimeSpan.Zero), rows[2].GetTimestamp(6));
        Assert.True(rows[2].GetFlag(7));
        Assert.Equal(new RowLocation(path, -1, 1, 0), rows[2].Location); // second row group, first row
    }

    [Theory]
    [InlineData("missing", "track", "missing key")]
    [InlineData("duplicate", "track", "duplicate key 't1' (first at row 0 of the file)")]
    [InlineData("infinity", "bpm", "+infinity is not allowed")]
    [InlineData("width", "desc", "vector has 2 components, expected width 3")]
    [InlineData("nanVector", "desc", "component 3 is NaN")]
    [InlineData("category", "style", "unknown category 'zz' (strict mode")]
    [InlineData("bound", "bpm", "-5 is below the minimum 0")]
    public async Task Each_kind_of_bad_row_names_row_group_row_column_and_reason(string kind, string column, string reason)
    {
        var s = Schemas.Tracks();
        var bad = kind switch
        {
            "missing" => Track(s, null),
            "duplicate" => Track(s, "t1"),
            "infinity" => Track(s, "t9", bpm: double.PositiveInfinity),
            "width" => Track(s, "t9", desc: [1, 2]),
            "nanVector" => Track(s, "t9", desc: [1, 2, float.NaN]),
            "category" => Track(s, "t9", style: "zz"),
            _ => Track(s, "t9", bpm: -5),
        };
        var path = await WriteAsync(2, Track(s, "t1"), Track(s, "t2"), bad);
        await using var reader = await TableReader.OpenAsync(s, path);
        var error = await Assert.ThrowsAsync<BadRowException>(() => reader.ToListAsync().AsTask());

        Assert.Equal(1, error.Row.Location.RowGroup);
        Assert.Equal(0, error.Row.Location.RowInGroup);
        Assert.Equal(column, error.Row.Column);
        Assert.Contains(reason, error.Row.Reason);
        Assert.Contains($"{path}: row group 1, row 0, column '{column}'", error.Message);
    }

    [Fact]
    public async Task Quarantine_counts_parquet_bad_rows_and_renders_them_in_the_side_file()
    {
        var s = Schemas.Tracks();
        var path = await WriteAsync(100, Track(s, "t1"), Track(s, "t2", desc: [1, 2, 3, 4]), Track(s, "t3"), Track(s, "t4", style: "q"));
        await using var reader = await TableReader.OpenAsync(s, path, BadRowPolicy.Quarantine);
        Assert.Equal(["t1", "t3"], await reader.Select(r => r.Key).ToListAsync());
        Assert.Equal(2, reader.Report.RowsQuarantined);
        Assert.Equal(1, reader.Report.BadRowsByKind[BadRowKind.UnknownCategory]);
        var side = File.ReadAllLines(reader.Report.QuarantineFile!);
        Assert.Equal(3, side.Length);
        Assert.StartsWith("row group 0 row 1,desc,\"vector has 4 components, expected width 3", side[1]);
        Assert.Contains("1;2;3;4", side[1]);
        Assert.StartsWith("row group 0 row 3,style,unknown category 'q'", side[2]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_cancelled_read_stops_before_the_next_row(bool cancelTheOpen)
    {
        // Either the token given to OpenAsync or the one given to the enumeration stops the read.
        var s = Schemas.Tracks();
        var path = await WriteAsync(1, Track(s, "t1"), Track(s, "t2"), Track(s, "t3"));
        using var cts = new CancellationTokenSource();
        await using var reader = await TableReader.OpenAsync(s, path, BadRowPolicy.FailFast, cancelTheOpen ? cts.Token : default);
        var read = new List<string?>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var row in reader.WithCancellation(cancelTheOpen ? default : cts.Token))
            {
                read.Add(row.Key);
                cts.Cancel();
            }
        });
        Assert.Equal(["t1"], read);
        Assert.False(reader.Report.Completed);
    }

    [Fact]
    public async Task Partner_files_with_other_physical_types_are_accepted()
    {
        // A partner writes integer keys, int32 flags, float numbers and list<double> vectors.
        var schema = new TableSchema
        {
            Table = "partner", Role = TableRole.Users, Key = "member",
            Columns =
            [
                new ColumnSpec { Name = "member", Kind = ColumnKind.Id },
                new ColumnSpec { Name = "score", Kind = ColumnKind.Numeric },
                new ColumnSpec { Name = "vip", Kind = ColumnKind.Flag },
                new ColumnSpec { Name = "emb", Kind = ColumnKind.Vector, Width = 2 },
            ],
        };
        var member = new DataField<long>("member");
        var score = new DataField<float>("score");
        var vip = new DataField<int>("vip");
        var element = new DataField<double>("element");
        var path = _dir.File("partner.parquet");
        using (var stream = File.Create(path))
        {
            var writer = await ParquetWriter.CreateAsync(new ParquetSchema(member, score, vip, new ListField("emb", element)), stream);
            using (var group = writer.CreateRowGroup())
            {
                await group.WriteAsync<long>(member, new long[] { 7, 8 }.AsMemory());
                await group.WriteAsync<float>(score, new[] { 1.5f, 2.5f }.AsMemory());
                await group.WriteAsync<int>(vip, new[] { 1, 0 }.AsMemory());
                await group.WriteAllPartsAsync<double>(element, new[] { 0.25, 0.5, 0.75, 1.0 }.AsMemory(),
                    new[] { 2, 2, 2, 2 }.AsMemory(), new[] { 0, 1, 0, 1 }.AsMemory(), default);
            }

            await writer.DisposeAsync();
        }

        await using var reader = await TableReader.OpenAsync(schema, path);
        var rows = await reader.ToListAsync();
        Assert.Equal(["7", "8"], rows.Select(r => r.Key));
        Assert.Equal([1.5, 2.5], rows.Select(r => r.GetNumber("score")));
        Assert.Equal([true, false], rows.Select(r => r.GetFlag(2)!.Value));
        Assert.Equal([0.75f, 1.0f], rows[1].GetVector("emb")!);
    }

    [Fact]
    public async Task A_column_of_the_wrong_type_or_a_missing_column_is_refused_before_any_row()
    {
        var schema = new TableSchema
        {
            Table = "x", Role = TableRole.Users, Key = "id",
            Columns =
            [
                new ColumnSpec { Name = "id", Kind = ColumnKind.Id },
                new ColumnSpec { Name = "v", Kind = ColumnKind.Vector, Width = 2 },
                new ColumnSpec { Name = "absent", Kind = ColumnKind.Numeric },
            ],
        };
        var id = new DataField<string>("id");
        var v = new DataField<double>("v");
        var path = _dir.File("wrong.parquet");
        using (var stream = File.Create(path))
        {
            var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id, v), stream);
            using (var group = writer.CreateRowGroup())
            {
                await group.WriteAsync(id, new[] { "a" });
                await group.WriteAsync<double>(v, new[] { 1.0 }.AsMemory());
            }

            await writer.DisposeAsync();
        }

        var error = await Assert.ThrowsAsync<DataFileException>(() => TableReader.OpenAsync(schema, path));
        Assert.Contains("column 'v' is Double but the schema says Vector", error.Message);
        Assert.Contains("no column 'absent'", error.Message);
    }

    // The footer (Thrift compact FileMetaData) of a valid file, and a way to write a file with another footer.
    private static (byte[] Body, byte[] Footer) SplitFooter(byte[] file)
    {
        var length = BitConverter.ToInt32(file, file.Length - 8);
        return (file[..(file.Length - 8 - length)], file[(file.Length - 8 - length)..(file.Length - 8)]);
    }

    private string WithFooter(byte[] body, byte[] footer)
    {
        var path = _dir.File($"f{Guid.NewGuid():N}.parquet");
        File.WriteAllBytes(path, [.. body, .. footer, .. BitConverter.GetBytes(footer.Length), .. "PAR1"u8.ToArray()]);
        return path;
    }

    [Fact]
    public async Task A_footer_field_whose_wire_type_disagrees_with_the_format_is_refused_naming_the_field()
    {
        var valid = await WriteAsync(10, Track(Schemas.Tracks(), "t1"), Track(Schemas.Tracks(), "t2"));
        var (body, footer) = SplitFooter(File.ReadAllBytes(valid));
        await using (var reader = await TableReader.OpenAsync(Schemas.Tracks(), WithFooter(body, footer)))
            Assert.Equal(2, (await reader.ToListAsync()).Count); // the split and rejoin keep a valid file valid

        // The footer opens with field 1, version, an i32 (header 0x15). Declared as a string instead, the library's
        // decoder would still read an i32 and then take the string's bytes for the next fields.
        Assert.Equal(0x15, footer[0]);
        var confused = (byte[])footer.Clone();
        confused[0] = 0x18;
        var error = await Assert.ThrowsAsync<DataFileException>(() => TableReader.OpenAsync(Schemas.Tracks(), WithFooter(body, confused)));
        Assert.Contains("FileMetaData.version", error.Message);
        Assert.Contains("wire type 8", error.Message);
    }

    [Fact]
    public async Task An_unknown_footer_structure_the_library_cannot_skip_and_a_stray_type_0_header_are_refused()
    {
        var valid = await WriteAsync(10, Track(Schemas.Tracks(), "t1"));
        var (body, footer) = SplitFooter(File.ReadAllBytes(valid));
        Assert.Equal(0x00, footer[^1]); // FileMetaData's stop byte

        // Field 100 (long form: header 0x0C, zigzag 200) holding a structure with a string: the library's skipping
        // reads field headers only, so it would take the string's bytes for headers.
        byte[] unknown = [0x0C, 0xC8, 0x01, 0x18, 0x05, (byte)'a', (byte)'b', (byte)'c', (byte)'d', (byte)'e', 0x00];
        var error = await Assert.ThrowsAsync<DataFileException>(() =>
            TableReader.OpenAsync(Schemas.Tracks(), WithFooter(body, [.. footer[..^1], .. unknown, 0x00])));
        Assert.Contains("unknown field 100 of wire type 12", error.Message);

        // An unknown scalar field is skipped whole by the library, and accepted.
        byte[] scalar = [0x05, 0xC8, 0x01, 0x2A];
        await using (var reader = await TableReader.OpenAsync(Schemas.Tracks(), WithFooter(body, [.. footer[..^1], .. scalar, 0x00])))
            Assert.Single(await reader.ToListAsync());

        // A header with a field id delta and type 0 is not the stop byte.
        error = await Assert.ThrowsAsync<DataFileException>(() =>
            TableReader.OpenAsync(Schemas.Tracks(), WithFooter(body, [.. footer[..^1], 0x10, 0x00])));
        Assert.Contains("field header of type 0", error.Message);
    }

    [Theory]
    [InlineData("page-header-past-end-1.parquet", "device")]
    [InlineData("page-header-past-end-2.parquet", "interests")]
    public async Task A_page_header_that_runs_past_the_end_of_the_file_is_refused_instead_of_looping(string file, string column)
    {
        // Inputs the fuzzer found: a column chunk's page header whose fields run into the end of the file, where the
        // library's varint reader would take end of file for continuation bytes forever.
        var corpus = Path.Combine(BuiltTool.RepoRoot(), "tests", "fuzz", "corpus");
        var schema = TableSchema.Parse(File.ReadAllText(Path.Combine(corpus, "schema", "users.json")));
        var path = _dir.File(file);
        File.Copy(Path.Combine(corpus, "parquet", file), path);
        var error = await Assert.ThrowsAsync<DataFileException>(async () =>
        {
            await using var reader = await TableReader.OpenAsync(schema, path, BadRowPolicy.Quarantine);
            await reader.ToListAsync();
        });
        Assert.Contains($"column '{column}' cannot be read", error.Message);
        Assert.Contains("runs past the end of the file", error.Message);
    }
}
