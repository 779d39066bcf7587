using System.Buffers.Binary;
using System.Text;

namespace Federated.Vectors.Internal;

/// <summary>
/// Ids to dense ordinals (0, 1, 2, ... in insertion order) and back. Indexes store and search ordinals; the ids are
/// only looked up at the edges. Supported ids: <see cref="long"/> and non-empty <see cref="string"/> (ordinal comparison).
/// </summary>
internal sealed class KeyMap<TKey> where TKey : notnull
{
    public const int LongKeys = 1, StringKeys = 2;

    private readonly Dictionary<TKey, int> _ordinals;
    private readonly List<TKey> _keys;

    public KeyMap(int capacity = 0)
    {
        KeyKind = KindOf();
        _ordinals = new Dictionary<TKey, int>(capacity, typeof(TKey) == typeof(string) ? (IEqualityComparer<TKey>)StringComparer.Ordinal : null);
        _keys = new List<TKey>(capacity);
    }

    public int KeyKind { get; }
    public int Count => _keys.Count;
    public TKey this[int ordinal] => _keys[ordinal];

    public static int KindOf() =>
        typeof(TKey) == typeof(long) ? LongKeys
        : typeof(TKey) == typeof(string) ? StringKeys
        : throw new NotSupportedException($"vector ids must be long or string, not {typeof(TKey).Name}");

    public static string KindName(int kind) => kind switch { LongKeys => "long", StringKeys => "string", _ => $"unknown ({kind})" };

    public bool Contains(TKey id) => id is not null && _ordinals.ContainsKey(id);

    public bool TryGetOrdinal(TKey id, out int ordinal) => _ordinals.TryGetValue(id, out ordinal);

    /// <summary>Checks that every id is usable and new (against the map and within the batch), before anything is added.</summary>
    public void CheckNew(IReadOnlyList<TKey> ids, string paramName)
    {
        HashSet<TKey>? batch = ids.Count > 1 ? new HashSet<TKey>(ids.Count, _ordinals.Comparer) : null;
        for (var i = 0; i < ids.Count; i++)
        {
            var id = ids[i];
            CheckUsable(id, paramName, i);
            if (_ordinals.ContainsKey(id))
                throw new ArgumentException($"{paramName}[{i}] ({id}) is already in the index: ids must be unique", paramName);
            if (batch is not null && !batch.Add(id))
                throw new ArgumentException($"{paramName}[{i}] ({id}) appears twice in the batch: ids must be unique", paramName);
        }
    }

    public void CheckNew(TKey id, string paramName)
    {
        CheckUsable(id, paramName, -1);
        if (_ordinals.ContainsKey(id))
            throw new ArgumentException($"{paramName} ({id}) is already in the index: ids must be unique", paramName);
    }

    private static void CheckUsable(TKey id, string paramName, int position)
    {
        var where = position < 0 ? paramName : $"{paramName}[{position}]";
        if (id is null)
            throw new ArgumentException($"{where} is null", paramName);
        if (id is string s && s.Length == 0)
            throw new ArgumentException($"{where} is an empty string", paramName);
    }

    /// <summary>Appends an id already checked by <see cref="CheckNew(TKey, string)"/>; returns its ordinal.</summary>
    public int Append(TKey id)
    {
        var ordinal = _keys.Count;
        _ordinals.Add(id, ordinal);
        _keys.Add(id);
        return ordinal;
    }

    public void Write(Stream stream)
    {
        Span<byte> buffer = stackalloc byte[8];
        foreach (var key in _keys)
        {
            if (key is long l)
            {
                BinaryPrimitives.WriteInt64LittleEndian(buffer, l);
                stream.Write(buffer);
            }
            else
            {
                var bytes = Encoding.UTF8.GetBytes((string)(object)key);
                BinaryPrimitives.WriteInt32LittleEndian(buffer, bytes.Length);
                stream.Write(buffer[..4]);
                stream.Write(bytes);
            }
        }
    }

    public static KeyMap<TKey> Read(Stream stream, long count, int kind, string file)
    {
        var expected = KindOf();
        if (kind != expected)
            throw new VectorIndexException($"{file} holds {KindName(kind)} ids; it was opened with {KindName(expected)} ids");
        var map = new KeyMap<TKey>(checked((int)count));
        Span<byte> buffer = stackalloc byte[8];
        for (long i = 0; i < count; i++)
        {
            TKey key;
            if (kind == LongKeys)
            {
                ReadExactly(stream, buffer, file);
                key = (TKey)(object)BinaryPrimitives.ReadInt64LittleEndian(buffer);
            }
            else
            {
                ReadExactly(stream, buffer[..4], file);
                var length = BinaryPrimitives.ReadInt32LittleEndian(buffer);
                if (length <= 0 || length > stream.Length - stream.Position)
                    throw new VectorIndexException($"{file}: id {i} has an impossible length {length}; the file is damaged");
                var bytes = new byte[length];
                ReadExactly(stream, bytes, file);
                key = (TKey)(object)Encoding.UTF8.GetString(bytes);
            }
            if (map._ordinals.ContainsKey(key))
                throw new VectorIndexException($"{file}: id {key} appears twice; the file is damaged");
            map.Append(key);
        }
        return map;
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string file)
    {
        try { stream.ReadExactly(buffer); }
        catch (EndOfStreamException e) { throw new VectorIndexException($"{file} ends inside its id list; the file is truncated", e); }
    }
}
