using Federated.Operator;
using Federated.Serving.Publication;
using Federated.Serving.V1;
using Federated.Transport.Client;
using Federated.Learning.Model;
using Federated.Synthetic;
using Federated.Training;
using Federated.Training.Data;
using Federated.Training.Jobs;
using Grpc.Core;

namespace Federated.Integration.Tests;

/// <summary>
/// The music host's model-version API on the real process: versions published into M's store folder are listed,
/// shown and rolled back over mutual TLS by a caller on M's administrator list; everyone else is refused.
/// </summary>
[Collection(FederationCollection.Name)]
public sealed class ModelVersionApiTests(FederationFixture fixture)
{
    private string StoreFolder => Path.Combine(fixture.Folder.PartyState(RunFolder.MusicName), "serving");

    private CoordinatorConnection Music(string identity) =>
        OperatorConnection.OpenMusic(null, fixture.Certificates, identity, fixture.Folder);

    private static void Publish(EmbeddingVersionStore store, string job, double hitRate)
    {
        const int d = 4;
        var items = Enumerable.Range(0, 20).Select(i => $"song-{i}").ToArray();
        var users = Enumerable.Range(0, 5).Select(i => $"user-{i}").ToArray();
        var random = new Random(job.Length);
        var itemVectors = Enumerable.Range(0, items.Length * d).Select(_ => (float)random.NextDouble()).ToArray();
        var userVectors = Enumerable.Range(0, users.Length * d).Select(_ => (float)random.NextDouble()).ToArray();
        store.Publish(new EmbeddingManifest
        {
            TrainingJob = job, AttemptId = "attempt-" + job, Round = 1, Dimensions = d, Items = 0, Users = 0,
            SchemaFingerprint = "schema-" + job, Metrics = new Dictionary<string, double> { ["hr@50"] = hitRate },
        }, items, itemVectors, users, userVectors);
    }

    [Fact]
    public async Task An_administrator_lists_shows_and_rolls_back_versions_on_the_music_host_and_others_are_refused()
    {
        if (Directory.Exists(StoreFolder)) Directory.Delete(StoreFolder, recursive: true);
        var store = new EmbeddingVersionStore(StoreFolder);
        Publish(store, "first", 0.61);
        Publish(store, "second", 0.64);

        using var op = Music(RunFolder.OperatorName);
        var models = new Models.ModelsClient(op.Channel);
        var listed = (await models.ListVersionsAsync(new ListVersionsRequest())).Versions;
        Assert.Equal(["v1", "v2"], listed.Select(v => v.Version));
        Assert.Equal("v2", Assert.Single(listed, v => v.Current).Version);

        var first = await models.ShowVersionAsync(new ShowVersionRequest { Version = "v1" });
        Assert.Equal("first", first.TrainingJob);
        Assert.Equal(20, first.Items);
        Assert.Equal(5, first.Users);
        Assert.Equal(0.61, first.Metrics["hr@50"], 6);

        var rolled = await models.RollbackAsync(new RollbackRequest());
        Assert.Equal("v1", rolled.Version);
        Assert.True(rolled.Current);
        Assert.Equal("v1", new EmbeddingVersionStore(StoreFolder).CurrentVersion); // the switch is on disk, in M's folder

        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await models.ShowVersionAsync(new ShowVersionRequest { Version = "v9" }));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("v1, v2", unknown.Status.Detail);
        var malformed = await Assert.ThrowsAsync<RpcException>(async () => await models.RollbackAsync(new RollbackRequest { Version = "latest" }));
        Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
        Assert.Contains("'latest' is not a model version", malformed.Status.Detail);
        var nothingOlder = await Assert.ThrowsAsync<RpcException>(async () => await models.RollbackAsync(new RollbackRequest()));
        Assert.Equal(StatusCode.FailedPrecondition, nothingOlder.StatusCode);

        // The external party holds a certificate from the same CA but is not on M's list.
        using var external = Music(RunFolder.ExternalName);
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Models.ModelsClient(external.Channel).ListVersionsAsync(new ListVersionsRequest()));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("external", refused.Status.Detail);
        Assert.Equal("v1", new EmbeddingVersionStore(StoreFolder).CurrentVersion);
    }

    [Fact]
    public async Task Recall_api_answers_from_the_serving_version_and_refuses_bad_requests_naming_the_field()
    {
        if (Directory.Exists(StoreFolder)) Directory.Delete(StoreFolder, recursive: true);
        var store = new EmbeddingVersionStore(StoreFolder);
        Publish(store, "served", 0.6);

        using var caller = Music(RunFolder.OperatorName);
        var recall = new Recall.RecallClient(caller.Channel);
        var similar = await recall.SimilarSongsAsync(new SimilarSongsRequest { SongId = "song-3", K = 5 });
        Assert.Equal("v1", similar.ModelVersion);
        Assert.Equal(5, similar.Songs.Count);
        Assert.DoesNotContain(similar.Songs, s => s.Id == "song-3");
        Assert.True(similar.Songs.Zip(similar.Songs.Skip(1)).All(p => p.First.Score >= p.Second.Score));

        var users = await recall.RecallForUsersAsync(new RecallForUsersRequest { UserIds = { "user-0", "user-4" }, K = 3 });
        Assert.Equal(["user-0", "user-4"], users.Users.Select(u => u.UserId));
        Assert.All(users.Users, u => Assert.Equal(3, u.Songs.Count));

        var audience = await recall.TargetAudienceAsync(new TargetAudienceRequest { SongId = "song-3", N = 4, SimilarSongs = 3 });
        Assert.Equal(4, audience.Users.Count);
        Assert.All(audience.Users, u => Assert.StartsWith("user-", u.Id));

        async Task<RpcException> Refused(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);
        var badK = await Refused(async () => await recall.SimilarSongsAsync(new SimilarSongsRequest { SongId = "song-3", K = 0 }));
        Assert.Equal(StatusCode.InvalidArgument, badK.StatusCode);
        Assert.Contains("k must be positive", badK.Status.Detail);
        var tooMany = await Refused(async () => await recall.SimilarSongsAsync(new SimilarSongsRequest { SongId = "song-3", K = 100_000 }));
        Assert.Contains("above the limit", tooMany.Status.Detail);
        var empty = await Refused(async () => await recall.RecallForUsersAsync(new RecallForUsersRequest { K = 3 }));
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
        Assert.Contains("user_ids is empty", empty.Status.Detail);
        var unknownUser = await Refused(async () => await recall.RecallForUsersAsync(new RecallForUsersRequest { UserIds = { "ghost" }, K = 3 }));
        Assert.Equal(StatusCode.NotFound, unknownUser.StatusCode);
        var unknownVersion = await Refused(async () => await recall.SimilarSongsAsync(new SimilarSongsRequest { SongId = "song-3", K = 3, ModelVersion = "v5" }));
        Assert.Equal(StatusCode.NotFound, unknownVersion.StatusCode);
        Assert.Contains("unknown model version 'v5'", unknownVersion.Status.Detail);
        var noSong = await Refused(async () => await recall.SimilarSongsAsync(new SimilarSongsRequest { K = 3 }));
        Assert.Equal(StatusCode.InvalidArgument, noSong.StatusCode);

        using var external = Music(RunFolder.ExternalName);
        var refused = await Refused(async () => await new Recall.RecallClient(external.Channel).SimilarSongsAsync(new SimilarSongsRequest { SongId = "song-3", K = 5 }));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    [Fact]
    public async Task A_new_song_given_by_metadata_and_audio_is_embedded_with_the_versions_item_tower_on_the_music_host()
    {
        if (Directory.Exists(StoreFolder)) Directory.Delete(StoreFolder, recursive: true);
        // A version as M publishes it: every song's vector from a (seeded, untrained) top model, and its new-song encoder.
        var work = Path.Combine(fixture.RunDirectory, "new-song-world");
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        await SyntheticWorld.GenerateAsync(SyntheticWorldOptions.Tiny with { Users = 300, Songs = 120 }, work);
        var music = Path.Combine(work, SyntheticWorldLayout.MusicFolder);
        var data = await MusicPartyData.LoadAsync(music);
        var model = new TrainingModelOptions();
        using var top = ModelShapes.Seeded(3, () => new MusicTopModel(ModelShapes.MusicTop(data, model)));
        using var catalog = ModelShapes.Catalog(data, model);
        var (keys, vectors, d) = TrainedEmbeddings.AllSongs(top, catalog, data);
        var encoder = Path.Combine(work, "encoder");
        NewSongEncoder.Write(encoder, top, data);
        var users = Enumerable.Range(0, 30).Select(i => $"user-{i}").ToArray();
        var userVectors = vectors.AsSpan(0, users.Length * d).ToArray(); // users placed on the first songs' vectors
        var store = new EmbeddingVersionStore(StoreFolder);
        store.Publish(new EmbeddingManifest
        {
            TrainingJob = "new-song", AttemptId = "attempt", Round = 1, Dimensions = d, Items = 0, Users = 0, SchemaFingerprint = "schema",
        }, keys, vectors, users, userVectors, encoderFolder: encoder);

        // A cold song of the table, sent as a new song: its own cells and descriptor.
        var coldIndex = Enumerable.Range(0, data.Songs.Rows).First(i => data.SongInteractionCounts[i] == 0);
        var cold = await SongCells(SyntheticWorldLayout.SongsSchema(work), data.Songs.Keys[coldIndex]);

        using var caller = Music(RunFolder.OperatorName);
        var recall = new Recall.RecallClient(caller.Channel);
        var similar = await recall.SimilarSongsAsync(new SimilarSongsRequest { NewSong = cold, K = 5 });
        Assert.Equal("v1", similar.ModelVersion);
        Assert.Equal(5, similar.Songs.Count);
        // Same tower, same features: the nearest song is the cold song itself, at cosine 1.
        Assert.Equal(data.Songs.Keys[coldIndex], similar.Songs[0].Id);
        Assert.Equal(1f, similar.Songs[0].Score, 4);
        Assert.True(similar.Songs.Zip(similar.Songs.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        var audience = await recall.TargetAudienceAsync(new TargetAudienceRequest { NewSong = cold, N = 4, SimilarSongs = 3 });
        Assert.Equal(4, audience.Users.Count);
        Assert.All(audience.Users, u => Assert.StartsWith("user-", u.Id));

        async Task<RpcException> Refused(NewSong song) => await Assert.ThrowsAsync<RpcException>(async () =>
            await recall.SimilarSongsAsync(new SimilarSongsRequest { NewSong = song, K = 3 }));
        var unknownColumn = cold.Clone();
        unknownColumn.Metadata["tempo"] = "120";
        var badColumn = await Refused(unknownColumn);
        Assert.Equal(StatusCode.InvalidArgument, badColumn.StatusCode);
        Assert.Contains("'tempo'", badColumn.Status.Detail);
        var missing = cold.Clone();
        missing.Metadata.Remove("genre");
        Assert.Contains("new_song.metadata['genre'] is missing", (await Refused(missing)).Status.Detail);
        var shortAudio = cold.Clone();
        shortAudio.AudioDescriptor.RemoveAt(0);
        var badAudio = await Refused(shortAudio);
        Assert.Equal(StatusCode.InvalidArgument, badAudio.StatusCode);
        Assert.Contains("new_song.audio_descriptor", badAudio.Status.Detail);

        // A version published without an item tower cannot embed a new song.
        store.Publish(new EmbeddingManifest
        {
            TrainingJob = "vectors-only", AttemptId = "attempt", Round = 1, Dimensions = d, Items = 0, Users = 0, SchemaFingerprint = "schema",
        }, keys, vectors, users, userVectors);
        var noTower = await Refused(cold);
        Assert.Equal(StatusCode.FailedPrecondition, noTower.StatusCode);
        Assert.Contains("v2", noTower.Status.Detail);
        Assert.Equal("v1", (await recall.SimilarSongsAsync(new SimilarSongsRequest { NewSong = cold, K = 1, ModelVersion = "v1" })).ModelVersion);
    }

    /// <summary>One row of M's songs table as a new-song request: each feature cell as text, the vector column as the descriptor.</summary>
    private static async Task<NewSong> SongCells(string schemaPath, string key)
    {
        await using var reader = await Federated.Data.Reading.TableReader.OpenFromSchemaFileAsync(schemaPath);
        await foreach (var row in reader)
        {
            if (row.Key != key) continue;
            var (metadata, audio) = NewSongEncoder.CellsOf(row);
            var song = new NewSong();
            song.Metadata.Add(metadata);
            song.AudioDescriptor.Add(audio);
            return song;
        }
        throw new InvalidOperationException($"song {key} is not in {schemaPath}");
    }
}
