using static TorchSharp.torch;

namespace Federated.Learning.Model;

/// <summary>
/// E's features for one batch of aligned users, row-major: <c>Categorical[r * C + c]</c> is the id of column c
/// (0 .. cardinality-1) and <c>Dense[r * D + j]</c> the dense feature j of row r.
/// </summary>
public sealed record ExternalBatch(int Rows, long[] Categorical, float[] Dense)
{
    public void Validate(ExternalTowerOptions options)
    {
        if (Rows <= 0) throw new ArgumentOutOfRangeException(nameof(Rows), Rows, "a batch needs at least one row");
        int columns = options.CategoricalCardinalities.Count;
        BatchChecks.Length("E batch categorical ids", Categorical, (long)Rows * columns, Rows, columns);
        BatchChecks.Length("E batch dense features", Dense, (long)Rows * options.DenseWidth, Rows, options.DenseWidth);
        BatchChecks.Ids("E batch categorical ids", Categorical, columns, options.CategoricalCardinalities);
        for (int i = 0; i < Dense.Length; i++)
            if (!float.IsFinite(Dense[i]))
                throw new ArgumentException($"E batch dense features: row {i / options.DenseWidth}, column {i % options.DenseWidth} is not finite");
    }

    internal (Tensor Categorical, Tensor Dense) ToTensors(ExternalTowerOptions options) =>
        (tensor(Categorical, new long[] { Rows, options.CategoricalCardinalities.Count }, ScalarType.Int64),
         tensor(Dense, new long[] { Rows, options.DenseWidth }, ScalarType.Float32));
}

/// <summary>
/// M's side of one batch: the positive song of each row, and M's own sparse user features where M knows the user
/// (<c>UserKnown[r]</c> false: a user new to M, whose ids are ignored).
/// </summary>
public sealed record MusicBatch(int Rows, long[] SongIds, long[]? UserCategorical = null, bool[]? UserKnown = null)
{
    public void Validate(MusicTopOptions options)
    {
        if (Rows <= 0) throw new ArgumentOutOfRangeException(nameof(Rows), Rows, "a batch needs at least one row");
        BatchChecks.Length("M batch song ids", SongIds, Rows, Rows, 1);
        BatchChecks.Ids("M batch song ids", SongIds, 1, new[] { options.Items.SongCount });
        if (options.Users is null)
        {
            if (UserCategorical is not null || UserKnown is not null)
                throw new ArgumentException("M batch carries user features but the model has no M user part (MusicTopOptions.Users is null)");
            return;
        }
        int columns = options.Users.CategoricalCardinalities.Count;
        if (UserCategorical is null || UserKnown is null)
            throw new ArgumentException("M batch: the model has an M user part, so UserCategorical and UserKnown are required");
        BatchChecks.Length("M batch user ids", UserCategorical, (long)Rows * columns, Rows, columns);
        BatchChecks.Length("M batch user-known flags", UserKnown, Rows, Rows, 1);
        for (int r = 0; r < Rows; r++)
        {
            if (!UserKnown[r]) continue;
            for (int c = 0; c < columns; c++)
            {
                long id = UserCategorical[r * columns + c];
                if (id < 0 || id >= options.Users.CategoricalCardinalities[c])
                    throw new ArgumentException($"M batch user ids: row {r}, column {c} has id {id}, outside 0..{options.Users.CategoricalCardinalities[c] - 1}");
            }
        }
    }
}

internal static class BatchChecks
{
    public static void Length<T>(string what, T[]? values, long expected, int rows, int columns)
    {
        if (values is null) throw new ArgumentNullException(what, $"{what} are missing");
        if (values.Length != expected)
            throw new ArgumentException($"{what}: expected {rows} rows x {columns} columns = {expected} values, got {values.Length}");
    }

    public static void Ids(string what, long[] ids, int columns, IReadOnlyList<int> cardinalities)
    {
        if (columns == 0) return;
        for (int i = 0; i < ids.Length; i++)
        {
            int c = i % columns;
            if (ids[i] < 0 || ids[i] >= cardinalities[c])
                throw new ArgumentException($"{what}: row {i / columns}, column {c} has id {ids[i]}, outside 0..{cardinalities[c] - 1}");
        }
    }
}
