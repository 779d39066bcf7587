using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Federated.Scheduling;

/// <summary>
/// Job definitions and their runs in SQLite (the coordinator's <c>schedules.db</c>, owner read/write only). A
/// definition is kept as the YAML it was submitted as and read again (and validated for form) when the store opens,
/// so the schedule and its horizon survive a restart. A new run and the horizon it moves are written in one transaction.
/// </summary>
public sealed class ScheduleStore : IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly object _gate = new();
    private readonly SqliteConnection _db;

    public ScheduleStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        OwnerOnly(Path);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        _db.Open();
        Execute("""
            CREATE TABLE IF NOT EXISTS definitions (
              name TEXT PRIMARY KEY,
              source TEXT NOT NULL,
              enabled INTEGER NOT NULL,
              submitted TEXT NOT NULL,
              horizon TEXT NOT NULL,
              revision INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS runs (
              run_id TEXT PRIMARY KEY,
              definition TEXT NOT NULL,
              slot TEXT NULL,
              trigger TEXT NOT NULL,
              state TEXT NOT NULL,
              job_id TEXT NULL,
              reason TEXT NOT NULL,
              created TEXT NOT NULL,
              started TEXT NULL,
              finished TEXT NULL,
              plan TEXT NOT NULL,
              summary TEXT NOT NULL DEFAULT '{}');
            CREATE INDEX IF NOT EXISTS runs_by_definition ON runs (definition, created);
            """);
    }

    public string Path { get; }

    /// <summary>Adds or replaces a definition; a replacement keeps its runs and gets the next revision.</summary>
    public StoredDefinition Put(JobDefinition definition, string source, DateTimeOffset now)
    {
        lock (_gate)
        {
            var revision = (Find(definition.Name)?.Revision ?? 0) + 1;
            var stored = new StoredDefinition(definition, source, Enabled: true, now, now, revision);
            using var command = _db.CreateCommand();
            command.CommandText = """
                INSERT INTO definitions (name, source, enabled, submitted, horizon, revision) VALUES ($name, $source, 1, $now, $now, $revision)
                ON CONFLICT(name) DO UPDATE SET source = excluded.source, enabled = 1, submitted = excluded.submitted,
                  horizon = excluded.horizon, revision = excluded.revision
                """;
            command.Parameters.AddWithValue("$name", definition.Name);
            command.Parameters.AddWithValue("$source", source);
            command.Parameters.AddWithValue("$now", Text(now));
            command.Parameters.AddWithValue("$revision", revision);
            command.ExecuteNonQuery();
            return stored;
        }
    }

    public StoredDefinition? Find(string name)
    {
        lock (_gate) return QueryDefinitions("WHERE name = $v", name).FirstOrDefault();
    }

    public IReadOnlyList<StoredDefinition> Definitions()
    {
        lock (_gate) return QueryDefinitions("ORDER BY name", null);
    }

    /// <summary>Enables (with a new horizon, so the disabled time does not count as missed) or disables a definition.</summary>
    public StoredDefinition SetEnabled(string name, bool enabled, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = enabled
                ? "UPDATE definitions SET enabled = 1, horizon = $now WHERE name = $name AND enabled = 0"
                : "UPDATE definitions SET enabled = 0 WHERE name = $name";
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$now", Text(now));
            command.ExecuteNonQuery();
            return Find(name) ?? throw new ScheduleException($"no job definition '{name}'", notFound: true);
        }
    }

    /// <summary>Removes a definition; its runs stay for the record.</summary>
    public bool Remove(string name)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = "DELETE FROM definitions WHERE name = $name";
            command.Parameters.AddWithValue("$name", name);
            return command.ExecuteNonQuery() > 0;
        }
    }

    /// <summary>Stores a new run and, when given, moves its definition's horizon to <paramref name="horizon"/>, in one transaction.</summary>
    public void Add(ScheduledRun run, DateTimeOffset? horizon)
    {
        lock (_gate)
        {
            using var transaction = _db.BeginTransaction();
            Write(run, transaction);
            if (horizon is { } h)
            {
                using var command = _db.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "UPDATE definitions SET horizon = $horizon WHERE name = $name";
                command.Parameters.AddWithValue("$name", run.Definition);
                command.Parameters.AddWithValue("$horizon", Text(h));
                command.ExecuteNonQuery();
            }
            transaction.Commit();
        }
    }

    public void Update(ScheduledRun run)
    {
        lock (_gate) Write(run, null);
    }

    public ScheduledRun? FindRun(string runId)
    {
        lock (_gate) return QueryRuns("WHERE run_id = $v", runId).FirstOrDefault();
    }

    /// <summary>A definition's runs, newest first (<paramref name="max"/> 0: all).</summary>
    public IReadOnlyList<ScheduledRun> Runs(string definition, int max = 0)
    {
        lock (_gate)
            return QueryRuns($"WHERE definition = $v ORDER BY created DESC, rowid DESC{(max > 0 ? $" LIMIT {max}" : "")}", definition);
    }

    /// <summary>The runs still waiting or running, of every definition (removed ones included), oldest first.</summary>
    public IReadOnlyList<ScheduledRun> ActiveRuns()
    {
        lock (_gate)
            return QueryRuns($"WHERE state IN ('{nameof(RunState.Waiting)}', '{nameof(RunState.Running)}') ORDER BY created, rowid", null);
    }

    private void Write(ScheduledRun run, SqliteTransaction? transaction)
    {
        using var command = _db.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO runs (run_id, definition, slot, trigger, state, job_id, reason, created, started, finished, plan, summary)
            VALUES ($id, $definition, $slot, $trigger, $state, $job, $reason, $created, $started, $finished, $plan, $summary)
            ON CONFLICT(run_id) DO UPDATE SET state = excluded.state, job_id = excluded.job_id, reason = excluded.reason,
              started = excluded.started, finished = excluded.finished, summary = excluded.summary
            """;
        command.Parameters.AddWithValue("$id", run.RunId);
        command.Parameters.AddWithValue("$definition", run.Definition);
        command.Parameters.AddWithValue("$slot", (object?)Text(run.Slot) ?? DBNull.Value);
        command.Parameters.AddWithValue("$trigger", run.Trigger.ToString());
        command.Parameters.AddWithValue("$state", run.State.ToString());
        command.Parameters.AddWithValue("$job", (object?)run.JobId ?? DBNull.Value);
        command.Parameters.AddWithValue("$reason", run.Reason);
        command.Parameters.AddWithValue("$created", Text(run.Created));
        command.Parameters.AddWithValue("$started", (object?)Text(run.Started) ?? DBNull.Value);
        command.Parameters.AddWithValue("$finished", (object?)Text(run.Finished) ?? DBNull.Value);
        command.Parameters.AddWithValue("$plan", JsonSerializer.Serialize(run.Plan, Json));
        command.Parameters.AddWithValue("$summary", run.Summary);
        command.ExecuteNonQuery();
    }

    private List<StoredDefinition> QueryDefinitions(string where, string? value)
    {
        using var command = _db.CreateCommand();
        command.CommandText = $"SELECT name, source, enabled, submitted, horizon, revision FROM definitions {where}";
        if (value is not null) command.Parameters.AddWithValue("$v", value);
        using var reader = command.ExecuteReader();
        var result = new List<StoredDefinition>();
        while (reader.Read())
        {
            var name = reader.GetString(0);
            JobDefinition definition;
            try
            {
                definition = JobDefinitionParser.Parse(reader.GetString(1));
            }
            catch (JobDefinitionException e)
            {
                throw new InvalidDataException($"job definition '{name}' in {Path} no longer reads: {e.Message}", e);
            }
            result.Add(new StoredDefinition(definition, reader.GetString(1), reader.GetInt64(2) != 0, Parse(reader.GetString(3)),
                Parse(reader.GetString(4)), (int)reader.GetInt64(5)));
        }
        return result;
    }

    private List<ScheduledRun> QueryRuns(string where, string? value)
    {
        using var command = _db.CreateCommand();
        command.CommandText = $"SELECT run_id, definition, slot, trigger, state, job_id, reason, created, started, finished, plan, summary FROM runs {where}";
        if (value is not null) command.Parameters.AddWithValue("$v", value);
        using var reader = command.ExecuteReader();
        var result = new List<ScheduledRun>();
        while (reader.Read())
            result.Add(new ScheduledRun(
                reader.GetString(0), reader.GetString(1),
                reader.IsDBNull(2) ? null : Parse(reader.GetString(2)),
                Enum.Parse<RunTrigger>(reader.GetString(3)), Enum.Parse<RunState>(reader.GetString(4)),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetString(6), Parse(reader.GetString(7)),
                reader.IsDBNull(8) ? null : Parse(reader.GetString(8)), reader.IsDBNull(9) ? null : Parse(reader.GetString(9)),
                JsonSerializer.Deserialize<RunPlan>(reader.GetString(10), Json) ?? throw new InvalidDataException($"run {reader.GetString(0)} in {Path} has no plan"),
                reader.GetString(11)));
        return result;
    }

    private void Execute(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Creates the database file readable and writable by its owner only (SQLite gives its journal the same mode).</summary>
    private static void OwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows())
            return;
        if (!File.Exists(path))
        {
            using var _ = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        else
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static string Text(DateTimeOffset time) => time.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    private static string? Text(DateTimeOffset? time) => time is { } t ? Text(t) : null;

    private static DateTimeOffset Parse(string text) =>
        DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind | System.Globalization.DateTimeStyles.AssumeUniversal);

    public void Dispose() => _db.Dispose();
}
