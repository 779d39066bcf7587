using System.CommandLine;
using Federated.Transport.V1;
using Grpc.Core;
using Spectre.Console;

namespace Federated.Cli.Commands;

public static class JobsCommands
{
    public static Command Create(CommonOptions common)
    {
        var max = new Option<int>("--max") { Description = "At most this many jobs, newest first", DefaultValueFactory = _ => 20 };
        var list = new Command("list", "List jobs with state, parties and relay counters") { max };
        list.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            var reply = await connection.Jobs.ListJobsAsync(new ListJobsRequest { Max = result.GetValue(max) }, cancellationToken: ct);
            AnsiConsole.Write(Table(reply.Jobs));
            return 0;
        });

        var kind = new Option<string>("--kind") { Description = "Job kind (ping, stream, ...)", Required = true };
        var parameters = new Option<string[]>("--param") { Description = "Job parameter name=value (repeatable)", AllowMultipleArgumentsPerToken = false };
        var wait = new Option<bool>("--wait") { Description = "Wait until the job finishes" };
        var create = new Command("create", "Create a job between the music and the external party") { kind, parameters, wait };
        create.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            var request = new CreateJobRequest { Kind = result.GetValue(kind)! };
            foreach (var pair in result.GetValue(parameters) ?? [])
            {
                var split = pair.Split('=', 2);
                if (split.Length != 2 || split[0].Length == 0)
                    throw new CliException($"--param '{pair}' is not name=value");
                request.Parameters[split[0]] = split[1];
            }
            var job = await connection.Jobs.CreateJobAsync(request, cancellationToken: ct);
            if (result.GetValue(wait))
                await AnsiConsole.Status().StartAsync($"job {job.JobId}", async status =>
                    job = await WaitAsync(connection.Jobs, job.JobId, TimeSpan.FromMinutes(30), ct,
                        j => status.Status($"job {j.JobId}: {StateText(j.State)}, {j.Relay?.MessagesRelayed ?? 0} messages relayed")));
            AnsiConsole.Write(Table([job]));
            AnsiConsole.Write(ReportsTable(job));
            return job.State is JobState.Failed or JobState.Stopped ? 1 : 0;
        });

        var jobId = new Argument<string>("job-id");
        var watch = new Command("watch", "Follow a job's state changes until it finishes") { jobId };
        watch.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            using var call = connection.Jobs.WatchJobEvents(new WatchJobEventsRequest { JobId = result.GetValue(jobId)! }, cancellationToken: ct);
            var last = JobState.Unspecified;
            await foreach (var e in call.ResponseStream.ReadAllAsync(ct))
            {
                AnsiConsole.MarkupLineInterpolated($"{e.Time.ToDateTimeOffset():HH:mm:ss.fff} [bold]{StateText(e.State)}[/] {e.Detail}");
                last = e.State;
            }
            return last is JobState.Completed ? 0 : 1;
        });

        var stopId = new Argument<string>("job-id");
        var stop = new Command("stop", "Stop a job") { stopId };
        stop.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            var job = await connection.Jobs.StopJobAsync(new StopJobRequest { JobId = result.GetValue(stopId)! }, cancellationToken: ct);
            AnsiConsole.Write(Table([job]));
            return 0;
        });
        return new Command("jobs", "Jobs between the parties") { list, create, watch, stop };
    }

    /// <summary>Polls a job until it finishes or the timeout passes.</summary>
    public static async Task<JobInfo> WaitAsync(Transport.V1.Jobs.JobsClient jobs, string jobId, TimeSpan timeout, CancellationToken ct,
        Action<JobInfo>? progress = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var job = await jobs.GetJobAsync(new GetJobRequest { JobId = jobId }, cancellationToken: ct);
            progress?.Invoke(job);
            if (job.State is JobState.Completed or JobState.Failed or JobState.Stopped)
                return job;
            if (DateTime.UtcNow > deadline)
                throw new CliException($"job {jobId} did not finish within {timeout.TotalSeconds:0} s; its state is {job.State}: " +
                    string.Join("; ", job.Parties.Select(p => $"{p.PartyId} {p.State} {p.Summary}")));
            await Task.Delay(200, ct);
        }
    }

    /// <summary>Each party's one-line report of a job.</summary>
    public static Table ReportsTable(JobInfo job)
    {
        var reports = new Table().Title("party reports").AddColumns("party", "report");
        foreach (var p in job.Parties)
            reports.AddRow(Markup.Escape(p.PartyId), Markup.Escape($"{StateText(p.State)}{(p.Failure == FailureKind.Unspecified ? "" : $" ({p.Failure})")}: {p.Summary}"));
        return reports;
    }

    public static string StateText(JobState state) => state.ToString().Replace("JobState", "", StringComparison.Ordinal);

    public static Table Table(IEnumerable<JobInfo> jobs)
    {
        var table = new Table().AddColumns("job", "kind", "state", "parties", "relayed", "dropped (replay / stale)", "generation");
        foreach (var j in jobs)
        {
            var state = StateText(j.State);
            var colour = j.State switch { JobState.Completed => "green", JobState.Failed => "red", JobState.Stopped => "yellow", _ => "blue" };
            table.AddRow(
                new Markup(Markup.Escape(j.JobId)), new Markup(Markup.Escape(j.Kind)), new Markup($"[{colour}]{state}[/]"),
                new Markup(Markup.Escape(string.Join("\n", j.Parties.Select(p => $"{p.PartyId}: {StateText(p.State)}")))),
                new Markup(j.Relay is null ? "-" : $"{j.Relay.MessagesRelayed} msgs, {j.Relay.BytesRelayed / 1024.0 / 1024.0:0.00} MiB\n(consumed: music {j.Relay.ConsumedByMusic}, external {j.Relay.ConsumedByExternal})"),
                new Markup(j.Relay is null ? "-" : $"{j.Relay.OldSequenceDropped} / {j.Relay.StaleGenerationDropped}"),
                new Markup(j.Relay is null ? "-" : j.Relay.SessionGeneration.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return table;
    }
}
