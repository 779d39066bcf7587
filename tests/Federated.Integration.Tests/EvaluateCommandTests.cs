using System.Text.Json;
using Xunit.Abstractions;

namespace Federated.Integration.Tests;

/// <summary>
/// <c>fedlocal evaluate</c> as its own process over files at M: a held-out interactions table (through its schema), M's
/// ranked lists and M's training interactions for the popularity baseline; the report's figures are the hand-computed
/// ones, and bad input is refused naming the file.
/// </summary>
public sealed class EvaluateCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "federated-evaluate-" + Guid.NewGuid().ToString("N")[..8]);

    private string Table(string name, params string[] rows)
    {
        Directory.CreateDirectory(_folder);
        File.WriteAllText(Path.Combine(_folder, name + ".csv"), "user_id,song_id\n" + string.Join("\n", rows) + "\n");
        var schema = $$"""
            {"formatVersion":1,"table":"{{name}}","role":"Interactions","file":"{{name}}.csv","roles":{"user":"user_id","song":"song_id"},
             "columns":[{"name":"user_id","kind":"Id"},{"name":"song_id","kind":"Id"}]}
            """;
        var path = Path.Combine(_folder, name + ".schema.json");
        File.WriteAllText(path, schema);
        return path;
    }

    [Fact]
    public async Task Ranked_lists_are_scored_against_held_out_interactions_beside_popularity()
    {
        // Held out: u1 played s9, u2 played s8, u3 played s1. Training plays make s1 the most popular, then s2.
        var truth = Table("heldout", "u1,s9", "u2,s8", "u3,s1");
        var train = Table("train", "u4,s1", "u5,s1", "u6,s1", "u4,s2", "u5,s2", "u6,s3");
        // M's lists: s9 first for u1 (a hit at 1), s8 second for u2 (a hit at 2), nothing for u3.
        var rankings = Path.Combine(_folder, "rankings.tsv");
        File.WriteAllLines(rankings, ["u1\ts9,s2,s3", "u2\ts5,s8,s1"]);
        var report = Path.Combine(_folder, "report");

        var (code, text) = await Fedctl.RunToolAsync("fedlocal", "evaluate", "--truth", truth, "--rankings", $"federated={rankings}",
            "--popularity-from", train, "--out", report, "--max-k", "10", "--resamples", "200");
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.Contains("3 held-out users with 3 relevant pairs", text);

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(report, "report.json")));
        var methods = json.RootElement.GetProperty("tasks")[0].GetProperty("methods").EnumerateArray()
            .ToDictionary(m => m.GetProperty("method").GetString()!, m => m);
        double Hr(string method, int k) => methods[method].GetProperty("hitRate").GetProperty("value")[k - 1].GetDouble();
        // federated: HR@1 = 1/3 (u1), HR@2 = 2/3 (u1, u2); u3 has no list and counts as a miss.
        Assert.Equal(1.0 / 3, Hr("federated", 1), 9);
        Assert.Equal(2.0 / 3, Hr("federated", 2), 9);
        Assert.Equal(2, methods["federated"].GetProperty("queriesWithList").GetInt32());
        // popularity ranks s1, s2, s3 for everyone: only u3's s1, at 1.
        Assert.Equal(1.0 / 3, Hr("popularity", 1), 9);
        Assert.Equal(1.0 / 3, Hr("popularity", 10), 9);
        Assert.True(File.Exists(Path.Combine(report, "report.md")));
    }

    [Fact]
    public async Task Bad_input_is_refused_naming_the_file()
    {
        var truth = Table("heldout", "u1,s9");
        var rankings = Path.Combine(_folder, "bad.tsv");
        File.WriteAllLines(rankings, ["u1 s9 s2"]);
        var (code, text) = await Fedctl.RunToolAsync("fedlocal", "evaluate", "--truth", truth, "--rankings", $"federated={rankings}", "--out", Path.Combine(_folder, "r"));
        Assert.NotEqual(0, code);
        Assert.Contains("bad.tsv:1: expected 'user<TAB>song,song,...'", text);

        (code, text) = await Fedctl.RunToolAsync("fedlocal", "evaluate", "--truth", Path.Combine(_folder, "missing.schema.json"), "--rankings", $"federated={rankings}");
        Assert.NotEqual(0, code);
        Assert.Contains("missing.schema.json does not exist", text);

        (code, text) = await Fedctl.RunToolAsync("fedlocal", "evaluate", "--truth", truth, "--rankings", "federated");
        Assert.NotEqual(0, code);
        Assert.Contains("is not METHOD=FILE", text);
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }
}
