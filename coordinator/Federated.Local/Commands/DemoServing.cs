using System.Diagnostics;
using Federated.Launcher;
using Federated.Operator;
using Federated.Serving.V1;

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
    /// <paramref name="similarSongs"/>, from model version <paramref name="version"/>.
    /// </summary>
    public static async Task<Audiences> AudiencesAsync(LocalFederation federation, IReadOnlyList<string> songs, int n, IReadOnlyList<int> similarSongs,
        string version, CancellationToken ct)
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
                var reply = await recall.TargetAudienceAsync(new TargetAudienceRequest { SongId = song, N = n, SimilarSongs = similar, ModelVersion = version },
                    cancellationToken: ct);
                requests++;
                if (reply.ModelVersion != version)
                    throw new OperatorException($"asked for model version {version}, answered by {reply.ModelVersion}");
                lists[song] = reply.Users.Select(u => u.Id).ToArray();
            }
            answers[similar] = lists;
        }
        return new Audiences(answers, requests, clock.Elapsed);
    }
}
