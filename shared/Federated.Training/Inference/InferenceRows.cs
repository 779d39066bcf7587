using System.Buffers.Binary;
using System.Security.Cryptography;
using Federated.Core;

namespace Federated.Training.Inference;

/// <summary>
/// The rows M asks E for in one inference request: the wanted users' ordinals among decoys drawn uniformly (OS CSPRNG)
/// from E's ordinals that E cannot tie to M (every ordinal but the training job's aligned users), all shuffled. Given the
/// set E receives, every subset of it of the wanted size is equally likely to be the wanted one, and the order carries
/// nothing. Wire format: little-endian uint32 ordinals.
/// </summary>
public sealed class InferenceRows
{
    private InferenceRows(uint[] ordinals, int[] wantedRows)
    {
        Ordinals = ordinals;
        WantedRows = wantedRows;
    }

    /// <summary>E's ordinals in the order E serves them.</summary>
    public IReadOnlyList<uint> Ordinals { get; }

    /// <summary>For each wanted ordinal (in the order given), the row it is served in.</summary>
    public IReadOnlyList<int> WantedRows { get; }

    /// <param name="wanted">E's ordinals of the users M wants, distinct, none excluded.</param>
    /// <param name="peerCount">How many ordinals E has.</param>
    /// <param name="excluded">Ordinals never used as decoys (E knows M holds them).</param>
    /// <param name="rows">Rows to send; fewer only when E has too few other users.</param>
    public static InferenceRows Plan(IReadOnlyList<int> wanted, int peerCount, IReadOnlySet<int> excluded, int rows)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        ArgumentNullException.ThrowIfNull(excluded);
        if (rows < wanted.Count) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"fewer rows than the {wanted.Count} wanted users");
        var chosen = new HashSet<int>();
        foreach (var o in wanted)
        {
            if (o < 0 || o >= peerCount) throw new ArgumentOutOfRangeException(nameof(wanted), o, $"not one of E's {peerCount} ordinals");
            if (excluded.Contains(o)) throw new ArgumentException($"ordinal {o} is one E can tie to M", nameof(wanted));
            if (!chosen.Add(o)) throw new ArgumentException($"ordinal {o} is wanted twice", nameof(wanted));
        }
        long pool = peerCount - excluded.Count(o => o >= 0 && o < peerCount) - wanted.Count;
        long decoys = Math.Min(rows - wanted.Count, pool);
        if (decoys > pool / 2)
        {
            // Dense: shuffle the whole pool and take a prefix.
            var all = Enumerable.Range(0, peerCount).Where(o => !excluded.Contains(o) && !chosen.Contains(o)).ToArray();
            RandomNumberGenerator.Shuffle(all.AsSpan());
            foreach (var o in all.AsSpan(0, (int)decoys)) chosen.Add(o);
        }
        else
        {
            int target = wanted.Count + (int)decoys;
            while (chosen.Count < target)
            {
                int o = RandomNumberGenerator.GetInt32(peerCount);
                if (!excluded.Contains(o)) chosen.Add(o);
            }
        }
        var order = chosen.ToArray();
        RandomNumberGenerator.Shuffle(order.AsSpan());
        var rowOf = new Dictionary<int, int>(order.Length);
        for (int r = 0; r < order.Length; r++) rowOf[order[r]] = r;
        return new InferenceRows(order.Select(o => (uint)o).ToArray(), wanted.Select(o => rowOf[o]).ToArray());
    }

    public byte[] ToPayload() => ToPayload(Ordinals);

    /// <summary>Ordinals as the wire carries them (little-endian uint32).</summary>
    public static byte[] ToPayload(IReadOnlyList<uint> ordinals)
    {
        var payload = new byte[ordinals.Count * 4];
        for (int i = 0; i < ordinals.Count; i++) BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(i * 4), ordinals[i]);
        return payload;
    }

    /// <summary>E: the source rows of the requested ordinals, checked (range, duplicates, at most <paramref name="maxRows"/>).</summary>
    public static int[] Resolve(ReadOnlySpan<byte> payload, IReadOnlyList<long> sourceOfOrdinal, int maxRows, string messageType)
    {
        if (payload.Length % 4 != 0) throw new ProtocolViolationException($"{messageType}: {payload.Length} bytes is not a list of uint32 ordinals");
        var rows = new int[payload.Length / 4];
        if (rows.Length > maxRows) throw new ProtocolViolationException($"{messageType}: {rows.Length} rows, more than the {maxRows} of the lookup before it");
        var seen = new HashSet<uint>();
        for (int i = 0; i < rows.Length; i++)
        {
            uint ordinal = BinaryPrimitives.ReadUInt32LittleEndian(payload.Slice(i * 4));
            if (ordinal >= sourceOfOrdinal.Count)
                throw new ProtocolViolationException($"{messageType}: row {i} names ordinal {ordinal}, but this party sent {sourceOfOrdinal.Count} users");
            if (!seen.Add(ordinal)) throw new ProtocolViolationException($"{messageType}: ordinal {ordinal} is requested twice");
            rows[i] = checked((int)sourceOfOrdinal[(int)ordinal]);
        }
        return rows;
    }
}
