using Federated.Data.Features;
using Federated.Data.Schema;

namespace Federated.Training.Data;

/// <summary>
/// E's side of the data: its users table (one schema file with role Users). Keys are read first (for the PSI);
/// the preprocessor is fitted on the aligned (training) rows only, then every row is encoded.
/// </summary>
public sealed class ExternalPartyData
{
    public const string Party = "external party (E)";

    private ExternalPartyData(PartyDataFolder folder, string usersSchema, string[] keys)
    {
        Folder = folder;
        UsersSchema = usersSchema;
        Keys = keys;
    }

    public PartyDataFolder Folder { get; }
    public string UsersSchema { get; }
    /// <summary>User keys in file order (the PSI source order).</summary>
    public string[] Keys { get; }
    public FeaturePreprocessor? Preprocessor { get; private set; }
    public EncodedTable? Features { get; private set; }

    public static async Task<ExternalPartyData> OpenAsync(string dataFolder, CancellationToken cancellationToken = default)
    {
        var folder = PartyDataFolder.Open(Party, dataFolder);
        var schema = folder.RequireTable(TableRole.Users, "E's user features");
        var keys = new List<string>();
        await folder.ReadAsync(schema, row => keys.Add(row.Key!), cancellationToken).ConfigureAwait(false);
        if (keys.Count == 0) throw new TrainingDataException(Party, $"users table '{Path.GetFileName(schema)}' has no rows");
        return new ExternalPartyData(folder, schema, keys.ToArray());
    }

    /// <summary>Fits the preprocessor on the rows at <paramref name="trainingRowIndices"/> (file positions) and encodes every row.</summary>
    public async Task FitAndEncodeAsync(IReadOnlySet<long> trainingRowIndices, CancellationToken cancellationToken = default)
    {
        var schema = TableSchema.Load(UsersSchema);
        long index = 0;
        var training = Folder.Rows(UsersSchema, cancellationToken).Where(_ => trainingRowIndices.Contains(index++));
        Preprocessor = await FeaturePreprocessor.FitAsync(schema, training, cancellationToken: cancellationToken).ConfigureAwait(false);
        var matrix = await Preprocessor.EncodeAllAsync(Folder.Rows(UsersSchema, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (matrix.RowCount != Keys.Length)
            throw new TrainingDataException(Party, $"users table '{Path.GetFileName(UsersSchema)}' changed while the job ran ({Keys.Length} rows, then {matrix.RowCount})");
        Features = EncodedTable.From(Preprocessor, matrix);
        if (Features.CategoricalWidth == 0 && Features.DenseWidth == 0)
            throw new TrainingDataException(Party, $"users table '{Path.GetFileName(UsersSchema)}' has no feature columns");
    }
}
