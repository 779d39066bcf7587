using System.CommandLine;
using Grpc.Core;
using Spectre.Console;

namespace Federated.Operator;

/// <summary>The entry point of every operator tool: one error handling, one exit code convention.</summary>
public static class ConsoleTool
{
    /// <summary>Runs <paramref name="root"/>; user-facing errors become one red line and exit code 1, Ctrl+C 130.</summary>
    public static async Task<int> RunAsync(RootCommand root, string[] args)
    {
        // What the tools write (certificates, run folders, generated data, reports) is owner-only, as the hosts' files are.
        Federated.Core.PrivateFiles.RestrictProcessUmask();
        // Redirected output (CI logs, files) gets wide tables instead of Spectre's 80-column default.
        if (Console.IsOutputRedirected)
            AnsiConsole.Profile.Width = 160;
        try
        {
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                // Ctrl+C / SIGTERM cancel the running command, which then stops what it started.
                ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
            }).ConfigureAwait(false);
        }
        catch (OperatorException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
        catch (RpcException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] the server answered {e.StatusCode}: {e.Status.Detail}");
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
    }
}
