using Federated.Crypto.Psi;
using Federated.Training.Inference;

namespace Federated.Training.Jobs;

/// <summary>
/// The evaluation request of docs/protocol.md §4. M runs an M-only PSI over the users it wants ranked plus every
/// user it knows, so it learns E's ordinal of each wanted user E has and which of E's users M already knows. It then
/// asks E for rows by ordinal: the wanted ones plus decoys drawn uniformly from E's users unknown to M (the population
/// cold-start users come from), shuffled. E learns the padded set, not which rows M wanted; M ranks only those.
/// Wire format: little-endian uint32 ordinals.
/// </summary>
public sealed class EvaluationRequest
{
    private EvaluationRequest(uint[] ordinals, string?[] users)
    {
        Ordinals = ordinals;
        Users = users;
    }

    /// <summary>E's ordinals in the order E serves them.</summary>
    public IReadOnlyList<uint> Ordinals { get; }
    /// <summary>Per requested row, the user M wants ranked, or null for a decoy.</summary>
    public IReadOnlyList<string?> Users { get; }
    public int WantedCount => Users.Count(u => u is not null);

    /// <summary>
    /// M: the request from its M-only PSI result (aligned keys with E's ordinals), padded and shuffled with the OS
    /// CSPRNG (a seeded generator's output could be searched by E for the seed, and with it the wanted rows).
    /// </summary>
    public static EvaluationRequest Build(PsiResult evaluation, IReadOnlySet<string> wanted, int decoysPerUser)
    {
        if (evaluation.PeerOrdinalsPath is null) throw new InvalidOperationException("the evaluation PSI must be M-only (PsiOptions.IntersectionForMusicOnly)");
        var keys = evaluation.IntersectionSize == 0 ? [] : File.ReadAllLines(evaluation.AlignedKeysPath);
        var ordinals = ReadOrdinals(evaluation.PeerOrdinalsPath);
        if (keys.Length != ordinals.Length) throw new InvalidDataException($"{evaluation.AlignedKeysPath}: {keys.Length} keys for {ordinals.Length} ordinals");
        if (evaluation.PeerIdCount > int.MaxValue) throw new InvalidDataException($"E announced {evaluation.PeerIdCount} users");

        // The wanted users' ordinals among decoys from E's users M does not know, as an inference request draws them.
        var wantedOrdinals = new List<int>();
        var wantedUsers = new List<string>();
        for (int i = 0; i < keys.Length; i++)
            if (wanted.Contains(keys[i])) { wantedOrdinals.Add(checked((int)ordinals[i])); wantedUsers.Add(keys[i]); }
        var wantedSet = wantedOrdinals.ToHashSet();
        var excluded = ordinals.Select(o => checked((int)o)).Where(o => !wantedSet.Contains(o)).ToHashSet();
        long rows = Math.Min((long)wantedOrdinals.Count * (1 + (long)decoysPerUser), evaluation.PeerIdCount);
        var plan = InferenceRows.Plan(wantedOrdinals, (int)evaluation.PeerIdCount, excluded, (int)rows);
        var users = new string?[plan.Ordinals.Count];
        for (int j = 0; j < wantedUsers.Count; j++) users[plan.WantedRows[j]] = wantedUsers[j];
        return new EvaluationRequest(plan.Ordinals.ToArray(), users);
    }

    public byte[] ToPayload() => InferenceRows.ToPayload(Ordinals);

    /// <summary>E: the source rows M asks for, checked against E's M-only PSI result (range, duplicates).</summary>
    public static int[] ResolveRows(ReadOnlySpan<byte> payload, PsiResult evaluation)
    {
        if (evaluation.OrdinalSourceIndexPath is null) throw new InvalidOperationException("the evaluation PSI must be M-only (PsiOptions.IntersectionForMusicOnly)");
        return InferenceRows.Resolve(payload, IndexFile.Read(evaluation.OrdinalSourceIndexPath), int.MaxValue, PeerLink.EvalRequest);
    }

    private static uint[] ReadOrdinals(string path) => IndexFile.Read(path).Select(v => checked((uint)v)).ToArray();
}
