using System.CommandLine;
using Federated.Operator;
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
            AnsiConsole.Write(OperatorTables.Jobs(reply.Jobs));
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
                    throw new OperatorException($"--param '{pair}' is not name=value");
                request.Parameters[split[0]] = split[1];
            }
            var job = await connection.Jobs.CreateJobAsync(request, cancellationToken: ct);
            if (result.GetValue(wait))
                await AnsiConsole.Status().StartAsync($"job {job.JobId}", async status =>
                    job = await JobWaits.WaitAsync(connection.Jobs, job.JobId, TimeSpan.FromMinutes(30), ct,
                        j => status.Status($"job {j.JobId}: {JobWaits.StateText(j.State)}, {j.Relay?.MessagesRelayed ?? 0} messages relayed")));
            AnsiConsole.Write(OperatorTables.Jobs([job]));
            AnsiConsole.Write(OperatorTables.Reports(job));
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
                AnsiConsole.MarkupLineInterpolated($"{e.Time.ToDateTimeOffset():HH:mm:ss.fff} [bold]{JobWaits.StateText(e.State)}[/] {e.Detail}");
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
            AnsiConsole.Write(OperatorTables.Jobs([job]));
            return 0;
        });
        var jobs = new Command("jobs", "Jobs between the parties, job definitions and their scheduled runs") { list, create, watch, stop };
        foreach (var command in JobDefinitionCommands.Create(common))
            jobs.Subcommands.Add(command);
        return jobs;
    }
}
