using Federated.Learning.Crypto;
using Federated.Learning.Model;
using Federated.Training.Data;
using static TorchSharp.torch;

namespace Federated.Training.Jobs;

/// <summary>
/// M's retrieval for users it does not know: user vector from z_E (M's "unknown user" path), cosine against the item
/// vectors of M's warm songs (those with training interactions), top K song keys.
/// </summary>
internal sealed class SongRanker
{
    private readonly MusicTopModel _top;
    private readonly int _depth;
    private readonly string[] _candidateKeys;
    private readonly Tensor _itemVectors;
    private readonly int _userColumns;

    public SongRanker(MusicTopModel top, SongCatalog catalog, MusicPartyData data, int depth)
    {
        _top = top;
        var candidates = data.WarmSongs();
        _candidateKeys = candidates.Select(s => data.Songs.Keys[s]).ToArray();
        _depth = Math.Min(depth, candidates.Length);
        _userColumns = top.Options.Users?.CategoricalCardinalities.Count ?? 0;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        _itemVectors = top.ItemVectors(tensor(candidates.Select(c => (long)c).ToArray(), ScalarType.Int64), catalog).MoveToOuterDisposeScope();
    }

    /// <summary>M's user features and known-flags for users new to M (ignored ids, all unknown); nulls when M has no user part.</summary>
    public (long[]? Categorical, bool[]? Known) UnknownUsers(int rows) =>
        _top.Options.Users is null ? (null, null) : (new long[(long)rows * _userColumns], new bool[rows]);

    /// <summary>Top songs for each row of z_E [rows, d], for users new to M (the M-alone baseline passes zeros).</summary>
    public IReadOnlyList<string>[] RankUnknownUsers(DenseMatrix zE)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (categorical, known) = UnknownUsers(zE.Rows);
        return TopK(_top.UserVectors(zE.ToTensor().to_type(ScalarType.Float32), new MusicBatch(zE.Rows, new long[zE.Rows], categorical, known)));
    }

    /// <summary>Top songs for user vectors [rows, d] (the inference's, or the baselines').</summary>
    public IReadOnlyList<string>[] TopK(Tensor userVectors)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var top = userVectors.mm(_itemVectors.t()).topk(_depth, dim: 1).indexes.data<long>().ToArray();
        int rows = (int)userVectors.shape[0];
        var result = new IReadOnlyList<string>[rows];
        for (int r = 0; r < rows; r++)
        {
            var list = new string[_depth];
            for (int j = 0; j < _depth; j++) list[j] = _candidateKeys[top[r * _depth + j]];
            result[r] = list;
        }
        return result;
    }
}
