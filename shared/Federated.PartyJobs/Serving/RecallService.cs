using Federated.Core;
using Federated.Serving.Recall;
using Federated.Training.Inference;
using Federated.Serving.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Federated.PartyJobs.Serving;

/// <summary>
/// M's recall API over gRPC, for the callers M lists (<see cref="ServingOptions.AllowedCallers"/>). Each answer names
/// the one model version it was computed on. Bad requests answer InvalidArgument naming the field, unknown ids and
/// versions NotFound, nothing published FailedPrecondition. A <c>new_song</c> (metadata and audio descriptor) is
/// embedded with the answering version's item tower (<see cref="INewSongEncoder"/>); a version published without one
/// answers FailedPrecondition.
/// </summary>
[Authorize(Policy = ServingPolicies.RecallCaller)]
public sealed class RecallService(RecallEngine engine, LiveInference live, INewSongEncoder? newSongs = null) : Federated.Serving.V1.Recall.RecallBase
{
    /// <summary>
    /// Users with a vector in the version are answered from it; the others, through the inference session with E open
    /// for the version's training job (<c>infer</c> job kind), if there is one. With none open, such a user is NotFound.
    /// </summary>
    public override async Task<RecallForUsersReply> RecallForUsers(RecallForUsersRequest request, ServerCallContext context)
    {
        var users = request.UserIds;
        Checked(() => { engine.CheckUsersRequest(users, request.K); return 0; });
        using var lease = Checked(() => engine.Acquire(string.IsNullOrEmpty(request.ModelVersion) ? null : ModelsService.RequireVersion(request.ModelVersion, "model_version")));
        var snapshot = lease.Snapshot;
        var manifest = snapshot.Set.Manifest;
        int d = snapshot.Set.Dimensions;
        var queries = new float[users.Count * d];
        var sources = new string[users.Count];
        var ask = new List<int>();
        for (int i = 0; i < users.Count; i++)
        {
            if (!request.Live && snapshot.Set.TryGetUser(users[i], out var vector))
            {
                vector.CopyTo(queries.AsSpan(i * d, d));
                sources[i] = "published";
            }
            else ask.Add(i);
        }
        if (ask.Count > 0)
        {
            var session = live.Find(manifest.TrainingJob, manifest.Round);
            if (session?.Unavailable is not null) session = null;
            if (session is null)
            {
                int first = ask[0];
                throw new RpcException(new Status(StatusCode.NotFound,
                    $"user_ids[{first}] = '{Truncate(users[first])}' has no vector in model version {snapshot.Version}, and no inference session with the external party " +
                    $"is open for its training job '{manifest.TrainingJob}' round {manifest.Round} (start one: an 'infer' job with that job's parameters)"));
            }
            var limit = session.Options.MaxUsersPerRequest;
            for (int start = 0; start < ask.Count; start += limit)
            {
                var part = ask.Skip(start).Take(limit).ToArray();
                InferredUsers inferred;
                try
                {
                    inferred = await session.InferAsync(part.Select(i => users[i]).ToArray(), context.CancellationToken).ConfigureAwait(false);
                }
                catch (InvalidOperationException e)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, $"live inference for model version {snapshot.Version}: {e.Message}"));
                }
                catch (Exception e) when (e is TimeoutException or ProtocolViolationException or PeerAbortedException or IOException)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, $"live inference for model version {snapshot.Version} failed: {e.Message}"));
                }
                for (int j = 0; j < part.Length; j++)
                {
                    int i = part[j];
                    if (inferred.Sources[j] == InferredSource.Aligned && snapshot.Set.TryGetUser(users[i], out var own))
                    {
                        // Not new to M: asked live, still answered from the version (E is never asked for it).
                        own.CopyTo(queries.AsSpan(i * d, d));
                        sources[i] = "published";
                        continue;
                    }
                    if (inferred.Vectors[j] is { } v)
                    {
                        if (v.Length != d) throw new RpcException(new Status(StatusCode.Internal, $"the inference session returned {v.Length}-wide vectors for model version {snapshot.Version} of width {d}"));
                        v.CopyTo(queries.AsSpan(i * d, d));
                    }
                    sources[i] = inferred.Sources[j] switch
                    {
                        InferredSource.Federated => "federated",
                        InferredSource.Aligned => "aligned",
                        _ => "unknown",
                    };
                }
            }
        }
        var hits = engine.RankSongs(snapshot, queries, request.K);
        var reply = new RecallForUsersReply { ModelVersion = snapshot.Version };
        for (int i = 0; i < users.Count; i++)
        {
            var recall = new UserRecall { UserId = users[i], Source = sources[i] };
            if (sources[i] is "published" or "federated") recall.Songs.AddRange(hits[i].Select(ToProto));
            reply.Users.Add(recall);
        }
        return reply;
    }

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "...";

    public override Task<SimilarSongsReply> SimilarSongs(SimilarSongsRequest request, ServerCallContext context) => Answer(() =>
    {
        var answer = request.SongCase switch
        {
            SimilarSongsRequest.SongOneofCase.SongId => engine.SimilarSongs(request.SongId, request.K, request.ModelVersion),
            SimilarSongsRequest.SongOneofCase.NewSong => engine.SimilarToVector(NewSongVector(request.NewSong), request.K, request.ModelVersion),
            _ => throw NoSong(),
        };
        var reply = new SimilarSongsReply { ModelVersion = answer.ModelVersion };
        reply.Songs.AddRange(answer.Value.Select(ToProto));
        return reply;
    });

    public override Task<TargetAudienceReply> TargetAudience(TargetAudienceRequest request, ServerCallContext context) => Answer(() =>
    {
        int similar = request.SimilarSongs == 0 ? 20 : request.SimilarSongs;
        var answer = request.SongCase switch
        {
            TargetAudienceRequest.SongOneofCase.SongId => engine.TargetAudience(request.SongId, request.N, similar, request.ModelVersion),
            TargetAudienceRequest.SongOneofCase.NewSong => engine.TargetAudienceForVector(NewSongVector(request.NewSong), request.N, similar, request.ModelVersion),
            _ => throw NoSong(),
        };
        var reply = new TargetAudienceReply { ModelVersion = answer.ModelVersion };
        reply.Users.AddRange(answer.Value.Select(ToProto));
        return reply;
    });

    /// <summary>The new song's vector, built on the answering version with that version's item tower.</summary>
    private Func<Federated.Serving.Publication.EmbeddingSet, float[]> NewSongVector(NewSong song)
    {
        if (newSongs is null)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "new_song: this host has no item tower to embed a new song with (give song_id)"));
        var features = new NewSongFeatures(song.Metadata, song.AudioDescriptor);
        return set => newSongs.Encode(set, features);
    }

    private static RpcException NoSong() => new(new Status(StatusCode.InvalidArgument, "song: give song_id or new_song"));

    private static ScoredId ToProto(Scored scored) => new() { Id = scored.Id, Score = scored.Score };

    private static Task<T> Answer<T>(Func<T> work) => Task.FromResult(Checked(work));

    /// <summary>Runs <paramref name="work"/>, turning the engine's errors into gRPC statuses that name the field.</summary>
    private static T Checked<T>(Func<T> work)
    {
        try { return work(); }
        catch (ArgumentException e) { throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message)); }
        catch (KeyNotFoundException e) { throw new RpcException(new Status(StatusCode.NotFound, e.Message)); }
        catch (InvalidOperationException e) { throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message)); }
        catch (InvalidDataException e) { throw new RpcException(new Status(StatusCode.DataLoss, e.Message)); }
    }
}
