using System.CommandLine;
using Federated.Cli;
using Federated.Cli.Commands;
using Grpc.Core;
using Spectre.Console;

// Redirected output (CI logs, files) gets wide tables instead of Spectre's 80-column default.
if (Console.IsOutputRedirected)
    AnsiConsole.Profile.Width = 160;

var common = new CommonOptions();
var root = new RootCommand("fedctl: operate a Federated federation (coordinator, music party, external party)");
common.AddTo(root);
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(CertsCommands.Create(common));
root.Subcommands.Add(FederationCommands.Create(common));
root.Subcommands.Add(PartiesCommands.Create(common));
root.Subcommands.Add(JobsCommands.Create(common));
root.Subcommands.Add(AuditCommands.Create(common));
root.Subcommands.Add(BenchCommand.Create());

try
{
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration
    {
        EnableDefaultExceptionHandler = false,
        // Ctrl+C / SIGTERM cancel the running command, which then stops the hosts it started.
        ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
    });
}
catch (CliException e)
{
    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
    return 1;
}
catch (RpcException e)
{
    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the coordinator answered {e.StatusCode}: {e.Status.Detail}");
    return 1;
}
catch (OperationCanceledException)
{
    AnsiConsole.MarkupLine("[yellow]cancelled[/]");
    return 130;
}
catch (Exception e) when (e is IOException or InvalidOperationException or TimeoutException or UnauthorizedAccessException
    or System.Security.Cryptography.CryptographicException or ArgumentException)
{
    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
    return 1;
}
