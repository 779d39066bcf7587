using System.Collections.Concurrent;
using Federated.Core;
using Federated.Experiments;
using Federated.Learning.Split;
using Federated.Synthetic;
using Federated.Training.Inference;
using Federated.Training.Jobs;
using Federated.Training.Tests.Support;
using Xunit.Abstractions;

namespace Federated.Training.Tests;

/// <summary>
/// A live inference session over a finished training job (docs/protocol.md §4.4): both parties reopen their final
/// model, M asks for users E knows, and gets the vectors the job's own evaluation pass computed; what E receives of a
/// request depends on its size only, not on which of the asked users are real.
/// </summary>
public sealed class InferenceSessionTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _work = TestWorlds.NewFolder("inference");

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Theory]
    [InlineData(FederationMode.PlaintextReference, 0.9999)]
    [InlineData(FederationMode.Encrypted, 0.99)]
    public async Task A_session_answers_users_with_the_vectors_of_the_trained_model_and_the_external_party_sees_only_the_request_size(
        FederationMode mode, double minimumCosine)
    {
        var world = await TestWorlds.GenerateAsync(TestWorlds.Small with { Users = 1_500, Songs = 500 }, _work);
        var harness = await EvaluationHarness.ForSyntheticColdUsersAsync(world);
        var training = TestWorlds.Job($"infer-{mode}") with
        {
            Epochs = 2, Mode = mode,
            Model = new TrainingModelOptions { BottomWidth = 4, InteractiveWidth = 4, MusicPretrainEpochs = 1 },
            Insecure = mode == FederationMode.PlaintextReference ? InsecureAllowances.PlaintextReference : InsecureAllowances.None,
        };
        var jobs = Path.Combine(_work, "jobs");
        var trained = await FederatedExperiment.RunFederatedInProcessAsync(world, jobs, training, harness.UsersToRank, 11, 22);
        var published = trained.Music.Embeddings;
        // The version holds the evaluated (cold-start) users and every aligned user, with M's own features of them.
        var alignedUsers = File.ReadAllLines(Path.Combine(jobs, "music", "psi-r1", "aligned-keys.txt"));
        Assert.Equal(trained.Music.Rankings.Count + alignedUsers.Length, published.UserKeys.Length);
        Assert.Subset(published.UserKeys.ToHashSet(), alignedUsers.ToHashSet());
        var coldUsers = published.UserKeys.Where(u => trained.Music.Rankings.ContainsKey(u)).ToArray();
        Assert.True(coldUsers.Length >= 12, $"{coldUsers.Length} evaluated users");

        var options = new InferenceSessionOptions { Training = training, SessionId = "session-1", DecoyFactor = 4 };
        var (toMusic, toExternal) = InMemoryPeerChannel.CreatePair();
        var seenByExternal = new RecordingChannel(toMusic);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var serving = Task.Run(() => ExternalInferenceSession.ServeAsync(seenByExternal,
            new PartyJobPaths(Path.Combine(world, SyntheticWorldLayout.ExternalFolder), Path.Combine(jobs, "external"), 11), options, null, stop.Token));
        var session = await MusicInferenceSession.OpenAsync(toExternal,
            new PartyJobPaths(Path.Combine(world, SyntheticWorldLayout.MusicFolder), Path.Combine(jobs, "music"), 22), options, stop.Token);

        // Four users the job evaluated (new to M, known to E): the session's vectors are the job's.
        var cold = coldUsers.Take(4).ToArray();
        var first = await session.InferAsync(cold, stop.Token);
        Assert.All(first.Sources, s => Assert.Equal(InferredSource.Federated, s));
        int d = published.Dimensions;
        for (int i = 0; i < cold.Length; i++)
        {
            int row = Array.IndexOf(published.UserKeys, cold[i]);
            var expected = published.Users.AsSpan(row * d, d);
            var got = first.Vectors[i]!;
            Assert.Equal(d, got.Length);
            double dot = 0;
            for (int j = 0; j < d; j++) dot += expected[j] * got[j];
            output.WriteLine($"{mode}: user {i} cosine to the job's vector {dot:F6}");
            Assert.True(dot >= minimumCosine, $"user {i}: cosine {dot:F6} to the job's vector, below {minimumCosine}");
        }

        // Same size, one real user: two ids E does not hold and one of the job's aligned users (answered by M alone).
        var second = await session.InferAsync([coldUsers[5], "nobody-1", alignedUsers[0], "nobody-2"], stop.Token);
        Assert.Equal([InferredSource.Federated, InferredSource.NotAtExternal, InferredSource.Aligned, InferredSource.NotAtExternal], second.Sources);
        Assert.NotNull(second.Vectors[0]);
        Assert.All(second.Vectors.Skip(1), v => Assert.Null(v));
        Assert.Equal(first.RowsSentToExternal, second.RowsSentToExternal);
        Assert.Equal(16, second.RowsSentToExternal);

        // E's view of the two requests: the same messages, in the same order, of the same sizes.
        // (The session's opening, PSI included, may still be arriving when M returns from OpenAsync: cut at the lookups.)
        var received = seenByExternal.Received;
        var lookups = Enumerable.Range(0, received.Count).Where(i => received[i].Type == "infer.lookup").ToArray();
        Assert.Equal(2, lookups.Length);
        var one = received.Skip(lookups[0]).Take(lookups[1] - lookups[0]).ToArray();
        var two = received.Skip(lookups[1]).ToArray();
        output.WriteLine("E received per request: " + string.Join(", ", one.Select(m => $"{m.Type} {m.Bytes} B")) + " | then " + string.Join(", ", two.Select(m => $"{m.Type} {m.Bytes} B")));
        Assert.Equal(one.Select(m => (m.Type, m.Bytes)), two.Select(m => (m.Type, m.Bytes)));
        Assert.Equal(["infer.lookup", "infer.rows", "train.F2"], one.Select(m => m.Type));
        Assert.Equal(16 * 32, one[0].Bytes);
        Assert.Equal(16 * 4, one[1].Bytes);

        var bad = await Assert.ThrowsAsync<ArgumentException>(() => session.InferAsync(["a", "a"], stop.Token));
        Assert.Contains("twice", bad.Message);
        await session.DisposeAsync();
        var stats = await serving;
        Assert.Equal(2, stats.Requests);
        Assert.Equal(32, stats.RowsServed);
        Assert.False(Directory.Exists(Path.Combine(jobs, "music", "inference", "session-1")), "the session's PSI folder (secret keys) outlives the session");
        await Assert.ThrowsAsync<InvalidOperationException>(() => session.InferAsync(cold, stop.Token));
    }

    [Fact]
    public async Task A_session_refuses_a_training_job_that_has_not_finished_at_this_party()
    {
        var options = new InferenceSessionOptions { Training = TestWorlds.Job("never-trained"), SessionId = "s" };
        var (toMusic, toExternal) = InMemoryPeerChannel.CreatePair();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => MusicInferenceSession.OpenAsync(toExternal,
            new PartyJobPaths(Path.Combine(_work, "no-data"), Path.Combine(_work, "no-job")), options, CancellationToken.None));
        Assert.Contains("never-trained", error.Message);
        Assert.Contains("run the training job first", error.Message);
        // The peer is told (category only).
        var abort = await toMusic.ReceiveAsync(CancellationToken.None);
        Assert.Equal(PeerAbort.MessageType, abort.MessageType);
    }

    [Fact]
    public void The_rows_of_a_request_make_every_subset_of_their_size_equally_likely_to_be_the_wanted_one()
    {
        // E has 12 users; ordinals 10 and 11 are aligned (never decoys). Two requests with one wanted user each, 0 or 5:
        // among the padded sets that hold both 0 and 5, E cannot tell which request it saw.
        var excluded = new HashSet<int> { 10, 11 };
        const int trials = 20_000;
        var bothWith0 = 0;
        var bothWith5 = 0;
        var position = new int[4];
        for (int t = 0; t < trials; t++)
        {
            var a = InferenceRows.Plan([0], 12, excluded, 4);
            var b = InferenceRows.Plan([5], 12, excluded, 4);
            Assert.Equal(4, a.Ordinals.Count);
            Assert.DoesNotContain(a.Ordinals, o => o is 10 or 11);
            Assert.Equal(0u, a.Ordinals[a.WantedRows[0]]);
            if (a.Ordinals.Contains(5u)) bothWith0++;
            if (b.Ordinals.Contains(0u)) bothWith5++;
            position[a.WantedRows[0]]++;
        }
        // P(the other user is among the 3 decoys of 9) = 1/3 for either request.
        output.WriteLine($"sets holding both: {bothWith0} vs {bothWith5} of {trials}; wanted row positions {string.Join(", ", position)}");
        double expected = trials / 3.0, sd = Math.Sqrt(trials * (1 / 3.0) * (2 / 3.0));
        Assert.InRange(bothWith0, expected - 5 * sd, expected + 5 * sd);
        Assert.InRange(bothWith5, expected - 5 * sd, expected + 5 * sd);
        // The wanted row is in each position a quarter of the time (chi-square, 3 degrees of freedom, p ≈ 0.001 bound).
        double chi = position.Sum(c => Math.Pow(c - trials / 4.0, 2) / (trials / 4.0));
        Assert.True(chi < 16.3, $"wanted row positions {string.Join(", ", position)}: chi-square {chi:F1}");

        // Negative control: without decoys the set E receives is the wanted user itself.
        var bare = InferenceRows.Plan([7], 12, excluded, 1);
        Assert.Equal([7u], bare.Ordinals);

        // Too few users for the padding: every user E can offer is used, the wanted one still hidden among them.
        var small = InferenceRows.Plan([0, 1], 5, new HashSet<int> { 4 }, 8);
        Assert.Equal(4, small.Ordinals.Count);
        Assert.Throws<ArgumentException>(() => InferenceRows.Plan([10], 12, excluded, 4));
    }

    /// <summary>Forwards a channel and records what this side receives: type and size only.</summary>
    private sealed class RecordingChannel(IPeerChannel inner) : IPeerChannel
    {
        private readonly ConcurrentQueue<(string Type, int Bytes)> _received = new();
        public IReadOnlyList<(string Type, int Bytes)> Received => _received.ToArray();

        public ValueTask SendAsync(PeerMessage message, CancellationToken cancellationToken) => inner.SendAsync(message, cancellationToken);

        public async ValueTask<PeerMessage> ReceiveAsync(CancellationToken cancellationToken)
        {
            var message = await inner.ReceiveAsync(cancellationToken);
            _received.Enqueue((message.MessageType, message.Payload.Length));
            return message;
        }
    }
}
