using Federated.Data.Reading;
using Federated.Data.Schema;

namespace Federated.Data.Tests;

public sealed class CsvReaderTests : IDisposable
{
    private const string Good1 = "t1,a,120,-6.5,x|y,0.1;0.2;0.3,2026-01-31T12:00:00Z,0";
    private const string Good2 = "t2,b,90.5,,,1;2;3,2025-06-01T00:00:00+02:00,true";
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Csv(params string[] lines) =>
        _dir.Write($"t{Guid.NewGuid():N}.csv", Schemas.TracksHeader + "\n" + string.Join("\n", lines) + "\n");

    [Fact]
    public async Task Good_rows_are_typed_per_schema()
    {
        await using var reader = await TableReader.OpenAsync(Schemas.Tracks(), Csv(Good1, Good2));
        var rows = await reader.ToListAsync();

        Assert.Equal(2, rows.Count);
        Assert.Equal("t1", rows[0].Key);
        Assert.Equal("a", rows[0].GetText("style"));
        Assert.Equal(120, rows[0].GetNumber("bpm"));
        Assert.Equal(-6.5, rows[0].GetNumber("loud"));
        Assert.Equal(["x", "y"], rows[0].GetTokens("tags"));
        Assert.Equal([0.1f, 0.2f, 0.3f], rows[0].GetVector("desc")!);
        Assert.Equal(new DateTimeOffset(2026, 1, 31, 12, 0, 0, TimeSpan.Zero), rows[0].GetTimestamp(6));
        Assert.False(rows[0].GetFlag(7));
        Assert.True(double.IsNaN(rows[1].GetNumber("loud")));       // nullable, empty
        Assert.Empty(rows[1].GetTokens("tags"));                     // empty multi-valued cell
        Assert.Equal(new DateTimeOffset(2025, 5, 31, 22, 0, 0, TimeSpan.Zero), rows[1].GetTimestamp(6)); // offset → UTC
        Assert.True(rows[1].GetFlag(7));
        Assert.Equal(2, reader.Report.RowsAccepted);
        Assert.True(reader.Report.Completed);
    }

    [Theory]
    [InlineData(",a,120,,,1;2;3,2026-01-01T00:00:00Z,0", "track", "missing key", BadRowKind.MissingKey)]
    [InlineData("t9,a,120,,,1;2;3,2026-01-01T00:00:00Z", null, "wrong column count: 7 fields, the header has 8", BadRowKind.ColumnCount)]
    [InlineData("t9,a,120,,,1;2;3,2026-01-01T00:00:00Z,0,extra", null, "wrong column count: 9 fields, the header has 8", BadRowKind.ColumnCount)]
    [InlineData("t9,a,fast,,,1;2;3,2026-01-01T00:00:00Z,0", "bpm", "'fast' is not a number", BadRowKind.NotANumber)]
    [InlineData("t9,a,NaN,,,1;2;3,2026-01-01T00:00:00Z,0", "bpm", "NaN is not allowed", BadRowKind.NotFinite)]
    [InlineData("t9,a,120,Infinity,,1;2;3,2026-01-01T00:00:00Z,0", "loud", "+infinity is not allowed", BadRowKind.NotFinite)]
    [InlineData("t9,a,-1,,,1;2;3,2026-01-01T00:00:00Z,0", "bpm", "-1 is below the minimum 0", BadRowKind.OutOfRange)]
    [InlineData("t9,a,120,,,1;2,2026-01-01T00:00:00Z,0", "desc", "vector has 2 components, expected width 3", BadRowKind.VectorWidth)]
    [InlineData("t9,a,120,,,1;x;3,2026-01-01T00:00:00Z,0", "desc", "component 2 'x' is not a number", BadRowKind.NotANumber)]
    [InlineData("t9,a,120,,,1;NaN;3,2026-01-01T00:00:00Z,0", "desc", "component 2 is NaN", BadRowKind.NotFinite)]
    [InlineData("t9,zz,120,,,1;2;3,2026-01-01T00:00:00Z,0", "style", "unknown category 'zz' (strict mode", BadRowKind.UnknownCategory)]
    [InlineData("t9,a,120,,,1;2;3,yesterday,0", "released", "'yesterday' is not an ISO-8601 timestamp", BadRowKind.BadTimestamp)]
    [InlineData("t9,a,120,,,1;2;3,2026-01-01T00:00:00Z,maybe", "explicit", "'maybe' is not a flag", BadRowKind.BadFlag)]
    [InlineData("t9,a,120,,x||y,1;2;3,2026-01-01T00:00:00Z,0", "tags", "token 2 is empty", BadRowKind.EmptyToken)]
    [InlineData("t9,a,,,,1;2;3,2026-01-01T00:00:00Z,0", "bpm", "missing value in a non-nullable column", BadRowKind.MissingValue)]
    [InlineData("t9,\"a\"b,120,,,1;2;3,2026-01-01T00:00:00Z,0", null, "unexpected character 'b' after the closing quote of field 2", BadRowKind.Malformed)]
    public async Task Each_kind_of_bad_row_fails_fast_naming_file_line_column_and_reason(string bad, string? column, string reason, BadRowKind kind)
    {
        var path = Csv(Good1, bad, Good2);
        await using var reader = await TableReader.OpenAsync(Schemas.Tracks(), path);
        var read = new List<string?>();
        var error = await Assert.ThrowsAsync<BadRowException>(async () => { await foreach (var row in reader) read.Add(row.Key); });

        Assert.Equal(["t1"], read);                       // the good row before was delivered, nothing after
        Assert.Equal(path, error.Row.Location.File);
        Assert.Equal(3, error.Row.Location.Line);        // header is line 1
        Assert.Equal(column, error.Row.Column);
        Assert.Contains(reason, error.Row.Reason);
        Assert.Equal(kind, error.Row.Kind);
        Assert.Contains($"{path}: line 3", error.Message);
        if (column is not null) Assert.Contains($"column '{column}'", error.Message);
    }

    [Fact]
    public async Task Duplicate_key_names_where_the_key_was_first_seen()
    {
        var path = Csv(Good1, Good2, Good1.Replace("120", "121"));
        await using var reader = await TableReader.OpenAsync(Schemas.Tracks(), path);
        var error = await Assert.ThrowsAsync<BadRowException>(() => reader.ToListAsync().AsTask());

        Assert.Equal(4, error.Row.Location.Line);
        Assert.Equal("track", error.Row.Column);
        Assert.Equal("duplicate key 't1' (first at line 2)", error.Row.Reason);
    }

    [Fact]
    public async Task Unknown_category_is_accepted_when_the_column_is_not_strict()
    {
        await using var reader = await TableReader.OpenAsync(Schemas.Tracks(strictGenre: false), Csv(Good1.Replace(",a,", ",zz,")));
        Assert.Equal("zz", Assert.Single(await reader.ToListAsync()).GetText("style"));
    }

    [Fact]
    public async Task Quoted_fields_with_commas_quotes_and_line_breaks_are_parsed_and_lines_stay_correct()
    {
        var schema = new TableSchema
        {
            Table = "notes", Role = TableRole.Other, Key = "id",
            Columns =
            [
                new ColumnSpec { Name = "id", Kind = ColumnKind.Id },
                new ColumnSpec { Name = "label", Kind = ColumnKind.Categorical },
                new ColumnSpec { Name = "n", Kind = ColumnKind.Numeric },
            ],
        };
        var path = _dir.Write("notes.csv",
            "id,label,n\r\n" +
            "1,\"rock, indie\",1\r\n" +
            "2,\"say \"\"hi\"\"\",2\r\n" +
            "3,\"two\nlines\",3\r\n" +
            "\r\n" +                              // blank line: not a record
            "4,plain,oops\r\n");
        await using var reader = await TableReader.OpenAsync(schema, path, BadRowPolicy.Quarantine);
        var rows = await reader.ToListAsync();

        Assert.Equal(["rock, indie", "say \"hi\"", "two\nlines"], rows.Select(r => r.GetText("label")));
        Assert.Equal([2L, 3L, 4L], rows.Select(r => r.Location.Line));
        var bad = Assert.Single(reader.Report.BadRows);
        Assert.Equal(7, bad.Location.Line);              // the multi-line field moved the count on
    }

    [Fact]
    public async Task Quarantine_writes_every_bad_row_to_a_side_file_and_counts_it()
    {
        var path = Csv(Good1, "t3,zz,120,,,1;2;3,2026-01-01T00:00:00Z,0", Good2, "t4,a,1,,,1;2,2026-01-01T00:00:00Z,0", Good1);
        await using var reader = await TableReader.OpenAsync(Schemas.Tracks(), path, BadRowPolicy.Quarantine);
        var keys = await reader.Select(r => r.Key).ToListAsync();
        var report = reader.Report;

        Assert.Equal(["t1", "t2"], keys);
        Assert.Equal(5, report.RowsRead);
        Assert.Equal(2, report.RowsAccepted);
        Assert.Equal(3, report.RowsQuarantined);
        Assert.Equal(report.RowsRead, report.RowsAccepted + report.RowsQuarantined);
        Assert.Equal(1, report.BadRowsByColumn["style"]);
        Assert.Equal(1, report.BadRowsByColumn["desc"]);
        Assert.Equal(1, report.BadRowsByColumn["track"]);   // the duplicate t1
        Assert.Equal(1, report.BadRowsByKind[BadRowKind.DuplicateKey]);
        Assert.Equal(1, report.BadRowsByKind[BadRowKind.VectorWidth]);
        Assert.True(report.Completed);

        var side = File.ReadAllLines(report.QuarantineFile!);
        Assert.Equal(path + ".quarantine.csv", report.QuarantineFile);
        Assert.Equal("location,column,reason,record", side[0]);
        Assert.Equal(4, side.Length);
        Assert.StartsWith("line 3,style,unknown category 'zz'", side[1]);
        Assert.Contains("t3,zz,120", side[1]);
        Assert.StartsWith("line 5,desc,", side[2]);
        Assert.StartsWith("line 6,track,duplicate key 't1'", side[3]);
    }

    [Fact]
    public async Task Header_that_does_not_match_the_schema_is_refused_before_any_row()
    {
        var path = _dir.Write("h.csv", "track,style,bpm,tags,desc,released,explicit,mood\nt1,a,1,,1;2;3,2026-01-01T00:00:00Z,0,x\n");
        var error = await Assert.ThrowsAsync<DataFileException>(() => TableReader.OpenAsync(Schemas.Tracks(), path));
        Assert.Contains("header lacks column 'loud'", error.Message);
        Assert.Contains("columns the schema does not declare: 'mood'", error.Message);
    }

    [Fact]
    public async Task Unterminated_quote_is_a_bad_row_not_a_silent_truncation()
    {
        var path = _dir.Write("q.csv", Schemas.TracksHeader + "\n" + Good1 + "\nt2,\"a,1,,,1;2;3,2026-01-01T00:00:00Z,0\n");
        await using var reader = await TableReader.OpenAsync(Schemas.Tracks(), path, BadRowPolicy.Quarantine);
        Assert.Single(await reader.ToListAsync());
        Assert.Contains("never closed", Assert.Single(reader.Report.BadRows).Reason);
    }

    [Fact]
    public async Task Unix_seconds_timestamps_are_read_as_declared()
    {
        var schema = new TableSchema
        {
            Table = "events", Role = TableRole.Other,
            Columns = [new ColumnSpec { Name = "at", Kind = ColumnKind.Timestamp, TimestampFormat = TimestampFormat.UnixSeconds }],
        };
        await using var reader = await TableReader.OpenAsync(schema, _dir.Write("e.csv", "at\n1767225600\n1767225600.5\n"));
        var times = await reader.Select(r => r.GetTimestamp(0)!.Value).ToListAsync();
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), times[0]);
        Assert.Equal(500, times[1].Millisecond);
    }
}
