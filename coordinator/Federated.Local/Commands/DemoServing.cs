using System.Diagnostics;
using Federated.Launcher;
using Federated.Operator;
using Federated.Serving.V1;
using Federated.Data.Reading;
using Federated.Training.Jobs;

namespace Federated.Local.Commands;

/// <summary>
/// The demo's serving step: the operator, as one of M's serving clients, asks the music host's recall API for the
/// cold-start users M published and scores what the API answers (not the job's files). Songs outside the task's
/// candidates (cold songs, for the cold-user task) are skipped, as a client showing catalogue songs would. For cold-start
/// songs it asks the API for each song's audience among the users M published.
/// </summary>
internal static class DemoServing
{
    public sealed record Served(
        string Version, int Songs, IReadOnlyDictionary<string, IReadOnlyList<string>> Rankings,
        IReadOnlyList<UserRecall> Examples, int Requests, TimeSpan Time, double SameTop10);

    public static async Task<Served> AskAsync(LocalFederation federation, IReadOnlyCollection<string> users, IReadOnlySet<string> candidates,
        int depth, IReadOnlyDictionary<string, IReadOnlyList<string>> jobRankings, CancellationToken ct)
    {
        var address = federation.Hosts[RunFolder.MusicName].Address?.ToString()
            ?? throw new OperatorException("the music host has no address");
        using var connection = OperatorConnection.OpenMusic(address, null, RunFolder.OperatorName, federation.Folder);
        var models = new Models.ModelsClient(connection.Channel);
        var recall = new Recall.RecallClient(connection.Channel);
        var serving = (await models.ListVersionsAsync(new ListVersionsRequest(), cancellationToken: ct)).Versions.FirstOrDefault(v => v.Current)
            ?? throw new OperatorException("the music host serves no model version after the training job");
        // Enough songs that `depth` candidates remain after skipping the songs outside the task.
        int k = Math.Min(1000, depth + Math.Max(0, serving.Items - candidates.Count));
        var rankings = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var examples = new List<UserRecall>();
        int requests = 0;
        var clock = Stopwatch.StartNew();
        foreach (var batch in users.Chunk(Math.Max(1, 20_000 / k))) // the API answers at most 20,000 scored songs per request
        {
            var request = new RecallForUsersRequest { K = k, ModelVersion = serving.Version };
            request.UserIds.AddRange(batch);
            var reply = await recall.RecallForUsersAsync(request, cancellationToken: ct);
            requests++;
            if (reply.ModelVersion != serving.Version)
                throw new OperatorException($"asked for model version {serving.Version}, answered by {reply.ModelVersion}");
            foreach (var user in reply.Users)
            {
                rankings[user.UserId] = user.Songs.Select(s => s.Id).Where(candidates.Contains).Take(depth).ToArray();
                if (examples.Count < 3) examples.Add(user);
            }
        }
        var time = clock.Elapsed;
        int same = rankings.Count(r => jobRankings.TryGetValue(r.Key, out var job) && job.Take(10).SequenceEqual(r.Value.Take(10)));
        return new Served(serving.Version, serving.Items, rankings, examples, requests, time, rankings.Count == 0 ? 0 : (double)same / rankings.Count);
    }

    /// <summary>Audiences of songs from the recall API, one <c>TargetAudience</c> request per song and setting.</summary>
    public sealed record Audiences(IReadOnlyDictionary<int, IReadOnlyDictionary<string, IReadOnlyList<string>>> BySimilarSongs, int Requests, TimeSpan Time);

    /// <summary>
    /// Asks the music host for the <paramref name="n"/> users to offer each song to, once per value of
    /// <paramref name="similarSongs"/>, from model version <paramref name="version"/>. With <paramref name="asArriving"/>,
    /// a song is sent as it arrives (<c>new_song</c>: its metadata and audio descriptor), not by id, and the version
    /// embeds it with its item tower at request time.
    /// </summary>
    public static async Task<Audiences> AudiencesAsync(LocalFederation federation, IReadOnlyList<string> songs, int n, IReadOnlyList<int> similarSongs,
        string version, CancellationToken ct, IReadOnlyDictionary<string, NewSong>? asArriving = null)
    {
        var address = federation.Hosts[RunFolder.MusicName].Address?.ToString()
            ?? throw new OperatorException("the music host has no address");
        using var connection = OperatorConnection.OpenMusic(address, null, RunFolder.OperatorName, federation.Folder);
        var recall = new Recall.RecallClient(connection.Channel);
        var answers = new Dictionary<int, IReadOnlyDictionary<string, IReadOnlyList<string>>>();
        int requests = 0;
        var clock = Stopwatch.StartNew();
        foreach (var similar in similarSongs)
        {
            var lists = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var song in songs)
            {
                var request = new TargetAudienceRequest { N = n, SimilarSongs = similar, ModelVersion = version };
                if (asArriving is null) request.SongId = song;
                else request.NewSong = asArriving[song];
                var reply = await recall.TargetAudienceAsync(request, cancellationToken: ct);
                requests++;
                if (reply.ModelVersion != version)
                    throw new OperatorException($"asked for model version {version}, answered by {reply.ModelVersion}");
                lists[song] = reply.Users.Select(u => u.Id).ToArray();
            }
            answers[similar] = lists;
        }
        return new Audiences(answers, requests, clock.Elapsed);
    }

    /// <summary>Songs as a catalogue client sends them on arrival: each one's row of M's songs table as <c>new_song</c> cells.</summary>
    public static async Task<Dictionary<string, NewSong>> ArrivingSongsAsync(string songsSchema, IReadOnlyCollection<string> songs, CancellationToken ct)
    {
        var wanted = songs.ToHashSet(StringComparer.Ordinal);
        var found = new Dictionary<string, NewSong>(StringComparer.Ordinal);
        var reader = await TableReader.OpenFromSchemaFileAsync(songsSchema, cancellationToken: ct);
        await using (reader)
            await foreach (var row in reader.WithCancellation(ct))
            {
                if (row.Key is not { } key || !wanted.Contains(key)) continue;
                var (metadata, audio) = NewSongEncoder.CellsOf(row);
                var song = new NewSong();
                song.Metadata.Add(metadata);
                song.AudioDescriptor.Add(audio);
                found[key] = song;
            }
        if (found.Count != wanted.Count)
            throw new OperatorException($"{songsSchema}: {wanted.Count - found.Count} of the {wanted.Count} songs are not in the table");
        return found;
    }
}
