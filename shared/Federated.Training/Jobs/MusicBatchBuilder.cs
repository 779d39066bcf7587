using Federated.Learning.Model;
using Federated.Training.Data;

namespace Federated.Training.Jobs;

/// <summary>
/// M's side of each batch: for every aligned row, one of the user's training positives and whether M's own user
/// features are hidden for it (feature dropout). Both choices come from M's seed and the epoch, so a resumed run
/// builds the same batches. E learns nothing of them: its batch is the aligned rows only.
/// </summary>
internal sealed class MusicBatchBuilder
{
    private readonly MusicPartyData _data;
    private readonly int[][] _positives;
    private readonly int[] _userRows;
    private readonly int[] _userIds;
    private readonly int _featureColumns;
    private readonly int _width;
    private readonly ulong _seed;
    private readonly double _dropout;
    private int _epoch = -1;
    private int[] _choice = [];
    private bool[] _hidden = [];

    public MusicBatchBuilder(MusicPartyData data, string[] alignedUsers, ulong seed, double dropout, TrainingModelOptions model)
    {
        _data = data;
        _seed = seed;
        _dropout = dropout;
        _positives = alignedUsers.Select(u => data.Positives.TryGetValue(u, out var p) ? p
            : throw new InvalidDataException($"aligned user row is not one of M's trainable users")).ToArray();
        _userRows = alignedUsers.Select(u => data.UserIndex is not null && data.UserIndex.TryGetValue(u, out var i) ? i : -1).ToArray();
        _userIds = alignedUsers.Select(u => model.MusicUserIdEmbedding ? data.TrainableUserIndex[u] : -1).ToArray();
        _featureColumns = data.Users?.CategoricalWidth ?? 0;
        _width = ModelShapes.MusicUserColumns(data, model).Length;
    }

    public MusicBatch Batch(int epoch, int[] rows)
    {
        if (epoch != _epoch) DrawEpoch(epoch);
        var songs = new long[rows.Length];
        for (int i = 0; i < rows.Length; i++) songs[i] = _positives[rows[i]][_choice[rows[i]]];
        if (_width == 0) return new MusicBatch(rows.Length, songs);
        var ids = new long[(long)rows.Length * _width];
        var known = new bool[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            int userRow = _userRows[rows[i]], userId = _userIds[rows[i]];
            known[i] = (userRow >= 0 || userId >= 0) && !_hidden[rows[i]];
            if (!known[i]) continue;
            if (userRow >= 0) Array.Copy(_data.Users!.Categorical, (long)userRow * _featureColumns, ids, (long)i * _width, _featureColumns);
            if (userId >= 0) ids[(long)i * _width + _width - 1] = userId;
        }
        return new MusicBatch(rows.Length, songs, ids, known);
    }

    /// <summary>M's own user features of aligned rows, all shown (no dropout): for the users' published vectors. Nulls when M has no user part.</summary>
    public (long[]? Categorical, bool[]? Known) UserFeatures(int[] rows)
    {
        if (_width == 0) return (null, null);
        var ids = new long[(long)rows.Length * _width];
        var known = new bool[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            int userRow = _userRows[rows[i]], userId = _userIds[rows[i]];
            known[i] = userRow >= 0 || userId >= 0;
            if (userRow >= 0) Array.Copy(_data.Users!.Categorical, (long)userRow * _featureColumns, ids, (long)i * _width, _featureColumns);
            if (userId >= 0) ids[(long)i * _width + _width - 1] = userId;
        }
        return (ids, known);
    }

    private void DrawEpoch(int epoch)
    {
        var random = new Random(unchecked((int)(_seed ^ (_seed >> 32)) ^ (epoch * 0x3C6EF372)));
        _choice = new int[_positives.Length];
        _hidden = new bool[_positives.Length];
        for (int r = 0; r < _positives.Length; r++)
        {
            _choice[r] = random.Next(_positives[r].Length);
            _hidden[r] = random.NextDouble() < _dropout;
        }
        _epoch = epoch;
    }
}
