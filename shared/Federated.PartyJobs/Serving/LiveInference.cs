using Federated.Training.Inference;

namespace Federated.PartyJobs.Serving;

/// <summary>
/// The inference sessions with E open at this music host, one per training job and round (the <c>infer</c> job
/// kind opens and closes them); the recall API finds the one that serves a version's model.
/// </summary>
public sealed class LiveInference
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Job, int Round), MusicInferenceSession> _open = new();

    public void Add(MusicInferenceSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var key = Key(session);
        lock (_gate)
            if (!_open.TryAdd(key, session))
                throw new InvalidOperationException($"an inference session for training job {key.Job} round {key.Round} is already open; stop it first");
    }

    public void Remove(MusicInferenceSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        lock (_gate)
            if (_open.TryGetValue(Key(session), out var open) && ReferenceEquals(open, session)) _open.Remove(Key(session));
    }

    /// <summary>The open session for a training job's round, or null.</summary>
    public MusicInferenceSession? Find(string trainingJob, int round)
    {
        lock (_gate) return _open.GetValueOrDefault((trainingJob, round));
    }

    private static (string Job, int Round) Key(MusicInferenceSession session) => (session.Options.Training.Job.Value, session.Options.Training.Round.Value);
}
