using Federated.Training.Data;
using Federated.Experiments;
using Federated.Training.Tests.Support;

namespace Federated.Training.Tests;

/// <summary>Bad input fails the job with an error naming the party, the file and the row; nothing is silently dropped.</summary>
public sealed class BadInputTests : IClassFixture<BadInputTests.World>, IDisposable
{
    public sealed class World : IAsyncLifetime
    {
        public string Folder { get; } = TestWorlds.NewFolder("bad-input-world");
        public string Path { get; private set; } = "";

        public async Task InitializeAsync() => Path = await TestWorlds.GenerateAsync(TestWorlds.Small with { Users = 600, Songs = 200 }, Folder);

        public Task DisposeAsync()
        {
            Directory.Delete(Folder, recursive: true);
            return Task.CompletedTask;
        }
    }

    private readonly string _work = TestWorlds.NewFolder("bad-input");
    private readonly string _world;

    public BadInputTests(World world)
    {
        _world = Path.Combine(_work, "world");
        CopyDirectory(world.Path, _world);
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task A_missing_songs_schema_fails_naming_the_music_party_and_the_missing_table()
    {
        File.Delete(Path.Combine(_world, "music", "songs.schema.json"));
        var error = await Assert.ThrowsAsync<TrainingDataException>(() => Run());
        Assert.Equal(MusicPartyData.Party, error.Party);
        Assert.Contains("music party (M)", error.Message);
        Assert.Contains("role Songs", error.Message);
    }

    [Fact]
    public async Task A_malformed_row_in_the_external_users_table_fails_naming_party_file_line_and_column()
    {
        var path = Path.Combine(_world, "external", "users.csv");
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        int age = Array.IndexOf(header, "age");
        var cells = lines[5].Split(',');
        cells[age] = "not-a-number";
        lines[5] = string.Join(',', cells);
        File.WriteAllLines(path, lines);

        var error = await Assert.ThrowsAsync<TrainingDataException>(() => Run());
        Assert.Equal(ExternalPartyData.Party, error.Party);
        Assert.Contains("external party (E)", error.Message);
        Assert.Contains("users.csv", error.Message);
        Assert.Contains("line 6", error.Message);
        Assert.Contains("'age'", error.Message);
    }

    [Fact]
    public async Task An_interaction_naming_an_unknown_song_fails_naming_the_file_and_line()
    {
        var path = Path.Combine(_world, "music", "interactions.csv");
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        int song = Array.IndexOf(header, "song_id");
        var cells = lines[3].Split(',');
        cells[song] = "no-such-song";
        lines[3] = string.Join(',', cells);
        File.WriteAllLines(path, lines);

        var error = await Assert.ThrowsAsync<TrainingDataException>(() => Run());
        Assert.Equal(MusicPartyData.Party, error.Party);
        Assert.Contains("interactions.csv", error.Message);
        Assert.Contains("line 4", error.Message);
        Assert.Contains("not in the songs table", error.Message);
    }

    [Fact]
    public async Task A_malformed_schema_file_fails_naming_the_file()
    {
        File.WriteAllText(Path.Combine(_world, "external", "users.schema.json"), "{ \"formatVersion\": 1, \"table\": ");
        var error = await Assert.ThrowsAsync<TrainingDataException>(() => Run());
        Assert.Equal(ExternalPartyData.Party, error.Party);
        Assert.Contains("users.schema.json", error.Message);
    }

    [Fact]
    public async Task Parties_with_different_job_settings_stop_at_the_hello_naming_the_mismatch()
    {
        var (toMusic, toExternal) = Federated.Core.InMemoryPeerChannel.CreatePair();
        var options = TestWorlds.Job("mismatch") with { Epochs = 1 };
        var external = Federated.Training.Jobs.ExternalPartyJob.RunAsync(toMusic,
            new Federated.Training.Jobs.PartyJobPaths(Path.Combine(_world, "external"), Path.Combine(_work, "jobs", "external"), 1), options);
        var music = Federated.Training.Jobs.MusicPartyJob.RunAsync(toExternal,
            new Federated.Training.Jobs.PartyJobPaths(Path.Combine(_world, "music"), Path.Combine(_work, "jobs", "music"), 2), options with { BatchSize = 128 }, []);
        var errors = await Task.WhenAll(Capture(external), Capture(music));
        Assert.All(errors, e => Assert.Contains("different job settings", e.Message));
        Assert.Contains(errors, e => e.Message.Contains("music party (M)"));
        Assert.Contains(errors, e => e.Message.Contains("external party (E)"));
        Assert.False(Directory.Exists(Path.Combine(_work, "jobs", "music", "psi-r1")), "no PSI should start after a failed hello");
    }

    private static async Task<Exception> Capture(Task task)
    {
        try { await task; }
        catch (Exception e) { return e; }
        throw new Xunit.Sdk.XunitException("the job did not fail");
    }

    private Task Run() => FederatedExperiment.RunFederatedInProcessAsync(_world, Path.Combine(_work, "jobs"),
        TestWorlds.Job("bad-input") with { Epochs = 1 }, ["u-1"], 1, 2);

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(dir.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, file.Replace(from, to));
    }
}
