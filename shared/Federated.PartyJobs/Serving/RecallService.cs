using Federated.Serving.Recall;
using Federated.Serving.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Federated.PartyJobs.Serving;

/// <summary>
/// M's recall API over gRPC, for the callers M lists (<see cref="ServingOptions.AllowedCallers"/>). Each answer names
/// the one model version it was computed on. Bad requests answer InvalidArgument naming the field, unknown ids and
/// versions NotFound, nothing published FailedPrecondition.
/// </summary>
[Authorize(Policy = ServingPolicies.RecallCaller)]
public sealed class RecallService(RecallEngine engine) : Federated.Serving.V1.Recall.RecallBase
{
    public override Task<RecallForUsersReply> RecallForUsers(RecallForUsersRequest request, ServerCallContext context) => Answer(() =>
    {
        var answer = engine.RecallForUsers(request.UserIds, request.K, request.ModelVersion);
        var reply = new RecallForUsersReply { ModelVersion = answer.ModelVersion };
        foreach (var (user, songs) in answer.Value)
        {
            var recall = new UserRecall { UserId = user, Source = "published" };
            recall.Songs.AddRange(songs.Select(ToProto));
            reply.Users.Add(recall);
        }
        return reply;
    });

    public override Task<SimilarSongsReply> SimilarSongs(SimilarSongsRequest request, ServerCallContext context) => Answer(() =>
    {
        var answer = engine.SimilarSongs(SongId(request.SongCase == SimilarSongsRequest.SongOneofCase.SongId ? request.SongId : null, request.SongCase),
            request.K, request.ModelVersion);
        var reply = new SimilarSongsReply { ModelVersion = answer.ModelVersion };
        reply.Songs.AddRange(answer.Value.Select(ToProto));
        return reply;
    });

    public override Task<TargetAudienceReply> TargetAudience(TargetAudienceRequest request, ServerCallContext context) => Answer(() =>
    {
        var song = SongId(request.SongCase == TargetAudienceRequest.SongOneofCase.SongId ? request.SongId : null,
            request.SongCase == TargetAudienceRequest.SongOneofCase.NewSong ? SimilarSongsRequest.SongOneofCase.NewSong
            : request.SongCase == TargetAudienceRequest.SongOneofCase.None ? SimilarSongsRequest.SongOneofCase.None : SimilarSongsRequest.SongOneofCase.SongId);
        var answer = engine.TargetAudience(song, request.N, request.SimilarSongs == 0 ? 20 : request.SimilarSongs, request.ModelVersion);
        var reply = new TargetAudienceReply { ModelVersion = answer.ModelVersion };
        reply.Users.AddRange(answer.Value.Select(ToProto));
        return reply;
    });

    private static string SongId(string? songId, SimilarSongsRequest.SongOneofCase which) => which switch
    {
        SimilarSongsRequest.SongOneofCase.SongId => songId!,
        SimilarSongsRequest.SongOneofCase.NewSong => throw new RpcException(new Status(StatusCode.FailedPrecondition,
            "new_song: this host answers for songs of a published version (give song_id); a new song's vector needs the item tower at serving time")),
        _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "song: give song_id")),
    };

    private static ScoredId ToProto(Scored scored) => new() { Id = scored.Id, Score = scored.Score };

    private static Task<T> Answer<T>(Func<T> work)
    {
        try { return Task.FromResult(work()); }
        catch (ArgumentException e) { throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message)); }
        catch (KeyNotFoundException e) { throw new RpcException(new Status(StatusCode.NotFound, e.Message)); }
        catch (InvalidOperationException e) { throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message)); }
        catch (InvalidDataException e) { throw new RpcException(new Status(StatusCode.DataLoss, e.Message)); }
    }
}
