using System.Security.Cryptography;
using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>
/// Membership lookups after an M-only PSI, for serving: M asks which of a few new IDs E holds, and E's ordinal of each,
/// without running the whole PSI again. M sends <c>H(x)^a</c> for each ID (its PSI scalar <c>a</c>), padded with
/// random group elements to a size it chooses and shuffled; E raises every point to its scalar <c>b</c> and sends them
/// back; M finds <c>H(x)^ab</c> among E's double-blinded values it stored in the PSI (<c>peer-values.bin</c>, by E's
/// ordinal). E sees uniformly random group elements and their count only, as in the PSI itself; M learns, for the IDs
/// it asked about, what an M-only PSI over them would have told it. Both sides load their keys from the PSI folder
/// (hashes checked against its manifest).
/// </summary>
public sealed class PsiLookupMusic : IDisposable
{
    private readonly PsiKeys _keys;
    private readonly byte[] _domainPrefix;
    private readonly Dictionary<PointKey, int> _ordinalOf;

    private PsiLookupMusic(PsiKeys keys, byte[] domainPrefix, Dictionary<PointKey, int> ordinalOf)
    {
        _keys = keys;
        _domainPrefix = domainPrefix;
        _ordinalOf = ordinalOf;
    }

    /// <summary>Number of IDs E sent in the PSI (its ordinals are 0..PeerCount-1).</summary>
    public int PeerCount => _ordinalOf.Count;

    /// <summary>Opens M's side from the folder of a finished M-only PSI run with <paramref name="domain"/>.</summary>
    public static PsiLookupMusic Open(string psiFolder, string domain)
    {
        var prefix = Ristretto255.DomainPrefix(domain);
        var prior = PsiJobStore.LoadPrior(psiFolder, PsiRole.Music, DomainHash(prefix));
        var ordinalOf = new Dictionary<PointKey, int>(prior.PeerCount);
        for (int o = 0; o < prior.PeerCount; o++)
            if (!ordinalOf.TryAdd(PointKey.From(prior.PeerValues.AsSpan(o * 32, 32)), o))
                throw new PsiStateException($"{psiFolder}: the external party's values hold a point twice");
        return new PsiLookupMusic(PsiKeys.FromBytes(prior.Keys.Scalar, prior.Keys.IdKey), prefix, ordinalOf);
    }

    /// <summary>
    /// The query for <paramref name="ids"/>: <paramref name="paddedCount"/> points, the IDs' blinded hashes at random
    /// positions among random points. <see cref="LookupQuery.Positions"/> says where each ID went.
    /// </summary>
    public LookupQuery Blind(IReadOnlyList<string> ids, int paddedCount)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (paddedCount < ids.Count) throw new ArgumentOutOfRangeException(nameof(paddedCount), paddedCount, $"at least the {ids.Count} IDs asked about");
        var slots = new int[paddedCount];
        for (int i = 0; i < slots.Length; i++) slots[i] = i;
        RandomNumberGenerator.Shuffle(slots.AsSpan());
        var payload = new byte[paddedCount * Ristretto255.PointBytes];
        Span<byte> h = stackalloc byte[Ristretto255.PointBytes];
        Span<byte> uniform = stackalloc byte[64];
        var positions = new int[ids.Count];
        for (int i = 0; i < paddedCount; i++)
        {
            var target = payload.AsSpan(slots[i] * 32, 32);
            if (i < ids.Count)
            {
                if (string.IsNullOrEmpty(ids[i]) || ids[i].AsSpan().IndexOfAny('\n', '\r') >= 0)
                    throw new ArgumentException($"ID {i} is empty or holds a line break", nameof(ids));
                Ristretto255.HashToGroup(_domainPrefix, ids[i], h);
                positions[i] = slots[i];
            }
            else
            {
                // A uniformly random group element: indistinguishable from H(x)^a to E.
                RandomNumberGenerator.Fill(uniform);
                Ristretto255.FromHash(uniform, h);
            }
            if (!Ristretto255.TryMultiply(_keys.Scalar, h, target)) throw new CryptographicException("blinding produced the identity point");
        }
        return new LookupQuery(payload, positions);
    }

    /// <summary>E's ordinal of each ID of <paramref name="query"/>, or -1 where E does not hold it.</summary>
    public int[] Match(LookupQuery query, ReadOnlySpan<byte> reply)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (reply.Length != query.Payload.Length)
            throw new ProtocolViolationException($"psi lookup reply holds {reply.Length} bytes for a query of {query.Payload.Length}");
        var ordinals = new int[query.Positions.Count];
        for (int i = 0; i < ordinals.Length; i++)
        {
            var point = reply.Slice(query.Positions[i] * 32, 32);
            ordinals[i] = _ordinalOf.TryGetValue(PointKey.From(point), out var o) ? o : -1;
        }
        return ordinals;
    }

    internal static string DomainHash(byte[] prefix) => Convert.ToHexString(SHA256.HashData(prefix)).ToLowerInvariant();

    public void Dispose() => _keys.Dispose();
}

/// <summary>One lookup query: the points sent to E, and for each ID asked about, the slot its point is in.</summary>
public sealed record LookupQuery(byte[] Payload, IReadOnlyList<int> Positions)
{
    public int Count => Payload.Length / Ristretto255.PointBytes;
}

/// <summary>E's side of <see cref="PsiLookupMusic"/>: raises each point M sent to E's PSI scalar, refusing invalid points.</summary>
public sealed class PsiLookupExternal : IDisposable
{
    private readonly PsiKeys _keys;

    private PsiLookupExternal(PsiKeys keys) => _keys = keys;

    /// <summary>Number of IDs E sent in the PSI.</summary>
    public int OwnCount { get; private init; }

    public static PsiLookupExternal Open(string psiFolder, string domain)
    {
        var prefix = Ristretto255.DomainPrefix(domain);
        var manifest = PsiJobStore.ReadManifest(psiFolder, PsiRole.External, PsiLookupMusic.DomainHash(prefix));
        return new PsiLookupExternal(PsiJobStore.ReadKeys(psiFolder, manifest, PsiRole.External)) { OwnCount = checked((int)manifest.OwnIdCount) };
    }

    /// <summary>Every point of <paramref name="query"/> raised to E's scalar; at most <paramref name="maxPoints"/> points.</summary>
    public byte[] Reblind(ReadOnlySpan<byte> query, int maxPoints)
    {
        if (query.Length == 0 || query.Length % Ristretto255.PointBytes != 0)
            throw new ProtocolViolationException($"psi lookup query of {query.Length} bytes is not a non-empty list of 32-byte points");
        int count = query.Length / Ristretto255.PointBytes;
        if (count > maxPoints) throw new ProtocolViolationException($"psi lookup query holds {count} points, more than the {maxPoints} this party answers at once");
        var reply = new byte[query.Length];
        for (int i = 0; i < count; i++)
            if (!Ristretto255.TryMultiply(_keys.Scalar, query.Slice(i * 32, 32), reply.AsSpan(i * 32, 32)))
                throw new ProtocolViolationException($"psi lookup query: point {i} is not a valid group element");
        return reply;
    }

    public void Dispose() => _keys.Dispose();
}
