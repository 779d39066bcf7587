using System.Runtime.CompilerServices;
using Federated.Core;
using Federated.Data.Reading;
using Federated.Data.Rows;
using Federated.Data.Schema;

namespace Federated.Training.Data;

/// <summary>A job fails on bad input with this error: it names the party and, through the inner message, the file, row and column.</summary>
public sealed class TrainingDataException(string party, string message, Exception? inner = null)
    : InputRejectedException($"{party}: {message}", inner)
{
    public string Party { get; } = party;
}

/// <summary>
/// One party's data folder: every <c>*.schema.json</c> in it describes one table (its role, key, columns and data
/// file). Tables are found by role, never by name, so partners bring their own tables and column names.
/// </summary>
public sealed class PartyDataFolder
{
    private readonly Dictionary<TableRole, List<(string SchemaPath, TableSchema Schema)>> _byRole;

    private PartyDataFolder(string party, string folder, Dictionary<TableRole, List<(string, TableSchema)>> byRole)
    {
        Party = party;
        Folder = folder;
        _byRole = byRole;
    }

    public string Party { get; }
    public string Folder { get; }

    /// <summary>Loads and validates every schema file in <paramref name="folder"/>; errors name the party and the file.</summary>
    public static PartyDataFolder Open(string party, string folder)
    {
        if (!Directory.Exists(folder))
            throw new TrainingDataException(party, $"data folder '{folder}' does not exist");
        var schemaFiles = Directory.GetFiles(folder, "*.schema.json").Order(StringComparer.Ordinal).ToArray();
        if (schemaFiles.Length == 0)
            throw new TrainingDataException(party, $"data folder '{folder}' holds no schema file (*.schema.json); each table needs one");
        var byRole = new Dictionary<TableRole, List<(string, TableSchema)>>();
        foreach (var path in schemaFiles)
        {
            TableSchema schema;
            try { schema = TableSchema.Load(path); }
            catch (Exception e) when (e is SchemaException or IOException or System.Text.Json.JsonException)
            {
                throw new TrainingDataException(party, $"schema file '{path}' is invalid: {e.Message}", e);
            }
            if (!byRole.TryGetValue(schema.Role, out var list)) byRole[schema.Role] = list = new();
            list.Add((path, schema));
        }
        return new PartyDataFolder(party, folder, byRole);
    }

    /// <summary>The schema file of the one table with this role; an error names what is missing or ambiguous.</summary>
    public string RequireTable(TableRole role, string purpose)
    {
        if (!_byRole.TryGetValue(role, out var list) || list.Count == 0)
            throw new TrainingDataException(Party, $"data folder '{Folder}' has no schema file for a table with role {role} ({purpose})");
        if (list.Count > 1)
            throw new TrainingDataException(Party, $"data folder '{Folder}' has {list.Count} tables with role {role} " +
                $"({string.Join(", ", list.Select(t => Path.GetFileName(t.SchemaPath)))}); exactly one is needed ({purpose})");
        var (path, schema) = list[0];
        if ((role == TableRole.Users || role == TableRole.Songs) && schema.Key is null)
            throw new TrainingDataException(Party, $"schema file '{path}': a {role} table needs a key column");
        return path;
    }

    public bool HasTable(TableRole role) => _byRole.TryGetValue(role, out var list) && list.Count > 0;

    /// <summary>Reads every row of a table (fail fast), handing each row to <paramref name="visit"/>. Errors name party, file, row and column.</summary>
    public async Task ReadAsync(string schemaPath, Action<DataRow> visit, CancellationToken cancellationToken = default)
    {
        try
        {
            var reader = await TableReader.OpenFromSchemaFileAsync(schemaPath, new ReadOptions { Policy = BadRowPolicy.FailFast }, cancellationToken)
                .ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            await foreach (var row in reader.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();
                visit(row);
            }
        }
        catch (Exception e) when (e is BadRowException or DataFileException or SchemaException or IOException)
        {
            throw new TrainingDataException(Party, $"table '{Path.GetFileName(schemaPath)}': {e.Message}", e);
        }
    }

    /// <summary>Rows of a table as a re-readable stream (each enumeration reads the file again).</summary>
    public async IAsyncEnumerable<DataRow> Rows(string schemaPath, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        TableReader reader;
        try
        {
            reader = await TableReader.OpenFromSchemaFileAsync(schemaPath, new ReadOptions { Policy = BadRowPolicy.FailFast }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is DataFileException or SchemaException or IOException)
        {
            throw new TrainingDataException(Party, $"table '{Path.GetFileName(schemaPath)}': {e.Message}", e);
        }
        await using (reader.ConfigureAwait(false))
        {
            var rows = reader.GetAsyncEnumerator(cancellationToken);
            await using var rowsDisposal = rows.ConfigureAwait(false);
            while (true)
            {
                bool more;
                try { more = await rows.MoveNextAsync().ConfigureAwait(false); }
                catch (Exception e) when (e is BadRowException or DataFileException or IOException)
                {
                    throw new TrainingDataException(Party, $"table '{Path.GetFileName(schemaPath)}': {e.Message}", e);
                }
                if (!more) yield break;
                yield return rows.Current;
            }
        }
    }
}
