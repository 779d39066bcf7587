using Federated.Training.Jobs;

namespace Federated.Training.Inference;

/// <summary>
/// Settings of one inference session (docs/protocol.md §4.4): which trained model both parties serve (the training
/// job's own options), how requests are padded with decoys and how large one may be.
/// </summary>
public sealed record InferenceSessionOptions
{
    /// <summary>The options the training job ran with (job, round, mode, model shape, CKKS): both parties must hold the same.</summary>
    public required TrainingJobOptions Training { get; init; }

    /// <summary>Names this session at both parties (the inference job's id): part of the PSI domain and the folder name.</summary>
    public required string SessionId { get; init; }

    /// <summary>A request for n users is sent to E as n x this many rows (the users among uniformly drawn decoys). At least 4.</summary>
    public int DecoyFactor { get; init; } = 4;

    /// <summary>Most users one request may ask about (E refuses larger lookups: DecoyFactor x MaxUsersPerRequest points).</summary>
    public int MaxUsersPerRequest { get; init; } = 1024;

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Training);
        Training.Validate();
        if (string.IsNullOrWhiteSpace(SessionId) || SessionId.Length > 128 || SessionId.AsSpan().ContainsAny("/\\:\n\r "))
            throw new ArgumentException($"session id '{SessionId}' must be 1..128 characters without '/', '\\', ':', spaces or line breaks", nameof(SessionId));
        if (DecoyFactor is < 4 or > 64) throw new ArgumentOutOfRangeException(nameof(DecoyFactor), DecoyFactor, "the decoy factor must be 4..64");
        if (MaxUsersPerRequest is < 1 or > 65_536) throw new ArgumentOutOfRangeException(nameof(MaxUsersPerRequest), MaxUsersPerRequest, "must be 1..65536");
    }

    internal int MaxLookupPoints => DecoyFactor * MaxUsersPerRequest;
    internal string PsiDomain => $"federated-inference/{Training.Run.Key}/{SessionId}";
    internal string Folder(PartyJobPaths paths) => Path.Combine(paths.JobFolder, "inference", SessionId);
}

/// <summary>Where a user's vector came from in an inference answer.</summary>
public enum InferredSource
{
    /// <summary>Computed now from E's features through the encrypted forward pass.</summary>
    Federated,
    /// <summary>E does not hold the user: no vector.</summary>
    NotAtExternal,
    /// <summary>One of the training job's aligned users: E knows M has them, so asking would single them out; M answers them from its published version.</summary>
    Aligned,
}

/// <summary>One request's answer: per asked user (in order), its vector (null unless federated) and where it came from.</summary>
public sealed record InferredUsers(IReadOnlyList<string> Users, IReadOnlyList<float[]?> Vectors, IReadOnlyList<InferredSource> Sources, int RowsSentToExternal);

/// <summary>Counts of a session so far (no ids, no values).</summary>
public sealed record InferenceSessionStats(long Requests, long UsersAsked, long RowsServed);
