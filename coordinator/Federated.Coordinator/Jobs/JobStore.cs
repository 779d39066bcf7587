using Federated.Core.Jobs;
using System.Text.Json;
using Federated.Transport.Relay;
using Federated.Transport.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Jobs;

/// <summary>A party's view of a job, as the party reported it.</summary>
public sealed record PartyJobRecord(JobState State, string Summary, int Starts, FailureKind Failure = FailureKind.Unspecified);

/// <summary>One job between a music party and an external party.</summary>
public sealed record JobRecord([property: System.Text.Json.Serialization.JsonPropertyName("JobId")] AttemptId Attempt, string Kind, IReadOnlyDictionary<string, string> Parameters, JobState State,
    string MusicPartyId, string ExternalPartyId, DateTimeOffset Created, DateTimeOffset? Finished, string Reason,
    IReadOnlyDictionary<string, PartyJobRecord> Parties)
{
    public bool IsFinished => State is JobState.Completed or JobState.Failed or JobState.Stopped;
    public bool Involves(string partyId) => partyId == MusicPartyId || partyId == ExternalPartyId;
    public string PeerOf(string partyId) => partyId == MusicPartyId ? ExternalPartyId : MusicPartyId;
}

/// <summary>
/// Jobs and their state (SQLite, in the coordinator's data folder). Every change pulses <see cref="Changed"/>, which
/// the assignment streams watch. A job completes when both parties report completion and fails when either fails.
/// </summary>
public sealed class JobStore : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, JobRecord> _jobs = new(StringComparer.Ordinal);
    private readonly SqliteConnection _db;

    public JobStore(IOptions<CoordinatorOptions> options)
    {
        var path = options.Value.RegistryDatabasePath;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        using (var create = _db.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, created TEXT NOT NULL, record TEXT NOT NULL);";
            create.ExecuteNonQuery();
        }
        using var select = _db.CreateCommand();
        select.CommandText = "SELECT record FROM jobs";
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            var job = JsonSerializer.Deserialize<JobRecord>(reader.GetString(0))
                ?? throw new InvalidDataException($"job record in {path} is empty");
            _jobs[job.Attempt.Value] = job;
        }
    }

    public AsyncPulse Changed { get; } = new();

    public JobRecord Create(string kind, IReadOnlyDictionary<string, string> parameters, string music, string external)
    {
        var job = new JobRecord(new AttemptId($"job-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..8]}"), kind, parameters,
            JobState.Pending, music, external, DateTimeOffset.UtcNow, null, "",
            new Dictionary<string, PartyJobRecord>
            {
                [music] = new(JobState.Pending, "", 0),
                [external] = new(JobState.Pending, "", 0),
            });
        Save(job);
        return job;
    }

    public JobRecord? Find(AttemptId attempt)
    {
        lock (_gate) return _jobs.GetValueOrDefault(attempt.Value);
    }

    public IReadOnlyList<JobRecord> List(int max)
    {
        lock (_gate) return _jobs.Values.OrderByDescending(j => j.Created).Take(max <= 0 ? int.MaxValue : max).ToList();
    }

    /// <summary>Records a party's report and derives the job state. Returns the job before and after.</summary>
    public (JobRecord Before, JobRecord After) Report(AttemptId attempt, string partyId, JobState state, string summary, FailureKind failure = FailureKind.Unspecified)
    {
        lock (_gate)
        {
            var before = _jobs.GetValueOrDefault(attempt.Value) ?? throw new KeyNotFoundException($"job '{attempt}' does not exist");
            var parties = new Dictionary<string, PartyJobRecord>(before.Parties);
            var previous = parties[partyId];
            if (before.IsFinished)
            {
                // A party's own failure that raced its peer's (the job already failed): kept for the record with its
                // kind; the job's state and reason stay as they were.
                if (state != JobState.Failed || previous.State is JobState.Failed or JobState.Completed)
                    return (before, before);
                parties[partyId] = new PartyJobRecord(state, summary, previous.Starts, failure);
                var recorded = before with { Parties = parties };
                Save(recorded);
                return (before, recorded);
            }
            parties[partyId] = new PartyJobRecord(state, summary, previous.Starts + (state == JobState.Running ? 1 : 0),
                state == JobState.Failed ? failure : FailureKind.Unspecified);

            var jobState = parties.Values.Any(p => p.State == JobState.Failed) ? JobState.Failed
                : parties.Values.All(p => p.State == JobState.Completed) ? JobState.Completed
                : JobState.Running;
            var after = before with
            {
                Parties = parties,
                State = jobState,
                Finished = jobState is JobState.Failed or JobState.Completed ? DateTimeOffset.UtcNow : null,
                Reason = jobState == JobState.Failed ? summary : before.Reason,
            };
            Save(after);
            return (before, after);
        }
    }

    /// <summary>Fails an unfinished job for a reason found by the coordinator itself (for example a lost party).</summary>
    public JobRecord Fail(AttemptId attempt, string reason)
    {
        lock (_gate)
        {
            var job = _jobs.GetValueOrDefault(attempt.Value) ?? throw new KeyNotFoundException($"job '{attempt}' does not exist");
            if (job.IsFinished)
                return job;
            var failed = job with { State = JobState.Failed, Finished = DateTimeOffset.UtcNow, Reason = reason };
            Save(failed);
            return failed;
        }
    }

    public JobRecord Stop(AttemptId attempt, string reason)
    {
        lock (_gate)
        {
            var job = _jobs.GetValueOrDefault(attempt.Value) ?? throw new KeyNotFoundException($"job '{attempt}' does not exist");
            if (job.IsFinished)
                return job;
            var stopped = job with { State = JobState.Stopped, Finished = DateTimeOffset.UtcNow, Reason = reason };
            Save(stopped);
            return stopped;
        }
    }

    private void Save(JobRecord job)
    {
        lock (_gate)
        {
            var before = _jobs.GetValueOrDefault(job.Attempt.Value)?.State ?? JobState.Unspecified;
            using var command = _db.CreateCommand();
            command.CommandText = "INSERT INTO jobs (job_id, created, record) VALUES ($id, $created, $record) ON CONFLICT(job_id) DO UPDATE SET record = excluded.record";
            command.Parameters.AddWithValue("$id", job.Attempt.Value);
            command.Parameters.AddWithValue("$created", job.Created.ToString("O"));
            command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(job));
            command.ExecuteNonQuery();
            _jobs[job.Attempt.Value] = job;
            CoordinatorMetrics.Transition(before, job.State);
        }
        Changed.Pulse();
    }

    public static JobInfo ToProto(JobRecord job, RelayStats? relay)
    {
        var info = new JobInfo
        {
            JobId = job.Attempt.Value,
            Kind = job.Kind,
            State = job.State,
            MusicPartyId = job.MusicPartyId,
            ExternalPartyId = job.ExternalPartyId,
            Created = Timestamp.FromDateTimeOffset(job.Created),
            Finished = job.Finished is { } f ? Timestamp.FromDateTimeOffset(f) : null,
            Reason = job.Reason,
            Relay = relay,
        };
        info.Parameters.Add(job.Parameters.ToDictionary());
        foreach (var (party, status) in job.Parties.OrderBy(p => p.Key, StringComparer.Ordinal))
            info.Parties.Add(new PartyJobStatus { PartyId = party, State = status.State, Summary = status.Summary, Starts = status.Starts, Failure = status.Failure });
        return info;
    }

    public void Dispose() => _db.Dispose();
}
