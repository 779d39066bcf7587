using System.CommandLine;
using Federated.Operator;
using Federated.Scheduling;
using Federated.Transport.V1;
using Google.Protobuf;
using Spectre.Console;

namespace Federated.Cli.Commands;

/// <summary>
/// <c>fedctl jobs submit | definitions | runs | run-now | disable | enable | remove</c>: job definitions (YAML files)
/// and their scheduled runs at the coordinator.
/// </summary>
public static class JobDefinitionCommands
{
    public static IEnumerable<Command> Create(CommonOptions common)
    {
        var file = new Argument<FileInfo>("file") { Description = "The job definition (YAML)" };
        var submit = new Command("submit", "Validate a job definition file here, then store it at the coordinator (which validates it against its registry too)") { file };
        submit.SetAction(async (result, ct) =>
        {
            var path = result.GetValue(file)!;
            if (!path.Exists)
                throw new OperatorException($"job definition file '{path.FullName}' does not exist");
            var yaml = await File.ReadAllTextAsync(path.FullName, ct);
            try
            {
                JobDefinitionParser.Parse(yaml); // the form, with the coordinator's own messages, before anything is sent
            }
            catch (JobDefinitionException e)
            {
                throw new OperatorException($"{path.Name}: {e.Message}");
            }
            using var connection = common.Connect(result);
            var stored = await connection.JobDefinitions.SubmitDefinitionAsync(new SubmitDefinitionRequest { Yaml = yaml }, cancellationToken: ct);
            AnsiConsole.MarkupLineInterpolated($"stored job definition [bold]{stored.Name}[/] (revision {stored.Revision})");
            AnsiConsole.Write(OperatorTables.Definitions([stored]));
            return 0;
        });

        var definitions = new Command("definitions", "List the job definitions: kind, parties, schedule, next slot, last run");
        definitions.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            var reply = await connection.JobDefinitions.ListDefinitionsAsync(new ListDefinitionsRequest(), cancellationToken: ct);
            AnsiConsole.Write(OperatorTables.Definitions(reply.Definitions));
            return 0;
        });

        var runsName = new Argument<string>("name") { Description = "The job definition" };
        var max = new Option<int>("--max") { Description = "At most this many runs, newest first", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "Print the runs as JSON (one object per line) for tools" };
        var runs = new Command("runs", "A job definition's runs: slot, job, state, reason, finished") { runsName, max, json };
        runs.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            var reply = await connection.JobDefinitions.ListRunsAsync(new ListRunsRequest { Name = result.GetValue(runsName)!, Max = result.GetValue(max) }, cancellationToken: ct);
            if (result.GetValue(json))
                foreach (var run in reply.Runs)
                    Console.Out.WriteLine(JsonFormatter.Default.Format(run));
            else
                AnsiConsole.Write(OperatorTables.Runs(reply.Runs));
            return 0;
        });

        var nowName = new Argument<string>("name") { Description = "The job definition" };
        var runNow = new Command("run-now", "Start a run of a job definition now (refused while one is active)") { nowName };
        runNow.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            var run = await connection.JobDefinitions.RunNowAsync(new DefinitionRequest { Name = result.GetValue(nowName)! }, cancellationToken: ct);
            AnsiConsole.Write(OperatorTables.Runs([run]));
            return run.State is ScheduledRunState.Failed ? 1 : 0;
        });

        Command Enabling(string verb, bool enabled, string description)
        {
            var name = new Argument<string>("name") { Description = "The job definition" };
            var command = new Command(verb, description) { name };
            command.SetAction(async (result, ct) =>
            {
                using var connection = common.Connect(result);
                var stored = await connection.JobDefinitions.SetDefinitionEnabledAsync(
                    new SetDefinitionEnabledRequest { Name = result.GetValue(name)!, Enabled = enabled }, cancellationToken: ct);
                AnsiConsole.Write(OperatorTables.Definitions([stored]));
                return 0;
            });
            return command;
        }

        var removeName = new Argument<string>("name") { Description = "The job definition" };
        var remove = new Command("remove", "Remove a job definition (its runs stay on record; an active run's job goes on)") { removeName };
        remove.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            var reply = await connection.JobDefinitions.RemoveDefinitionAsync(new DefinitionRequest { Name = result.GetValue(removeName)! }, cancellationToken: ct);
            AnsiConsole.MarkupLineInterpolated($"removed job definition [bold]{reply.Name}[/]");
            return 0;
        });

        return [submit, definitions, runs, runNow,
            Enabling("disable", false, "Stop scheduling a job definition's slots (run-now still works)"),
            Enabling("enable", true, "Schedule a disabled job definition again, from now on (the disabled time is not missed)"),
            remove];
    }
}
