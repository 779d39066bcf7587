using System.Buffers.Binary;
using System.Security.Cryptography;
using Federated.Core;
using Federated.Crypto.Psi;

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

        var knownToM = new HashSet<uint>(ordinals);
        var rows = new List<(uint Ordinal, string? User)>();
        for (int i = 0; i < keys.Length; i++)
            if (wanted.Contains(keys[i])) rows.Add((ordinals[i], keys[i]));
        long candidates = evaluation.PeerIdCount - knownToM.Count;
        long decoys = Math.Min((long)decoysPerUser * rows.Count, candidates);
        var picked = new HashSet<uint>();
        if (decoys > candidates / 2)
        {
            // Dense: shuffle all candidates and take a prefix.
            var all = new List<uint>();
            for (uint o = 0; o < evaluation.PeerIdCount; o++) if (!knownToM.Contains(o)) all.Add(o);
            var array = all.ToArray();
            RandomNumberGenerator.Shuffle(array.AsSpan());
            foreach (var o in array.Take((int)decoys)) picked.Add(o);
        }
        else
            while (picked.Count < decoys)
            {
                var o = (uint)RandomNumberGenerator.GetInt32((int)evaluation.PeerIdCount);
                if (!knownToM.Contains(o)) picked.Add(o);
            }
        rows.AddRange(picked.Select(o => (o, (string?)null)));
        var shuffled = rows.ToArray();
        RandomNumberGenerator.Shuffle(shuffled.AsSpan());
        return new EvaluationRequest(shuffled.Select(r => r.Ordinal).ToArray(), shuffled.Select(r => r.User).ToArray());
    }

    public byte[] ToPayload()
    {
        var payload = new byte[Ordinals.Count * 4];
        for (int i = 0; i < Ordinals.Count; i++) BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(i * 4), Ordinals[i]);
        return payload;
    }

    /// <summary>E: the source rows M asks for, checked against E's M-only PSI result (range, duplicates).</summary>
    public static int[] ResolveRows(ReadOnlySpan<byte> payload, PsiResult evaluation)
    {
        if (evaluation.OrdinalSourceIndexPath is null) throw new InvalidOperationException("the evaluation PSI must be M-only (PsiOptions.IntersectionForMusicOnly)");
        if (payload.Length % 4 != 0) throw new ProtocolViolationException($"{PeerLink.EvalRequest}: {payload.Length} bytes is not a list of uint32 ordinals");
        var sourceOfOrdinal = ReadOrdinals(evaluation.OrdinalSourceIndexPath);
        var rows = new int[payload.Length / 4];
        var seen = new HashSet<uint>();
        for (int i = 0; i < rows.Length; i++)
        {
            uint ordinal = BinaryPrimitives.ReadUInt32LittleEndian(payload.Slice(i * 4));
            if (ordinal >= sourceOfOrdinal.Length)
                throw new ProtocolViolationException($"{PeerLink.EvalRequest}: row {i} names ordinal {ordinal}, but this party sent {sourceOfOrdinal.Length} users");
            if (!seen.Add(ordinal)) throw new ProtocolViolationException($"{PeerLink.EvalRequest}: ordinal {ordinal} is requested twice");
            rows[i] = (int)sourceOfOrdinal[ordinal];
        }
        return rows;
    }

    private static uint[] ReadOrdinals(string path) => IndexFile.Read(path).Select(v => checked((uint)v)).ToArray();
}
