using System.CommandLine;
using Federated.Operator;
using Federated.Serving.V1;
using Spectre.Console;

namespace Federated.Cli.Commands;

/// <summary>The music party's published model versions, on its own host (the caller must be on M's administrator list).</summary>
public static class ModelsCommands
{
    public static Command Create(CommonOptions common)
    {
        var music = new Option<string?>("--music")
        {
            Description = "The music host's address (https://host:port); default: the local federation's music host",
            Recursive = true,
        };

        var list = new Command("list", "List the published model versions, the serving one marked");
        list.SetAction(async (result, ct) =>
        {
            using var connection = Open(common, music, result);
            var reply = await new Models.ModelsClient(connection.Channel).ListVersionsAsync(new ListVersionsRequest(), cancellationToken: ct);
            AnsiConsole.Write(Versions(reply.Versions));
            return 0;
        });

        var version = new Argument<string>("version") { Description = "The model version (v1, v2, ...)" };
        var show = new Command("show", "Show one version: where it came from, its shape and its metrics") { version };
        show.SetAction(async (result, ct) =>
        {
            using var connection = Open(common, music, result);
            var reply = await new Models.ModelsClient(connection.Channel).ShowVersionAsync(new ShowVersionRequest { Version = result.GetValue(version)! }, cancellationToken: ct);
            AnsiConsole.Write(Versions([reply]));
            var metrics = new Table().AddColumns("metric", "value");
            foreach (var (name, value) in reply.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
                metrics.AddRow(Markup.Escape(name), value.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture));
            AnsiConsole.Write(metrics);
            return 0;
        });

        var target = new Argument<string?>("version") { Description = "The version to serve; default: the newest one older than the serving one", Arity = ArgumentArity.ZeroOrOne };
        var rollback = new Command("rollback", "Switch serving to an earlier version (atomically; queries in flight finish on the version they started with)") { target };
        rollback.SetAction(async (result, ct) =>
        {
            using var connection = Open(common, music, result);
            var reply = await new Models.ModelsClient(connection.Channel).RollbackAsync(new RollbackRequest { Version = result.GetValue(target) ?? "" }, cancellationToken: ct);
            AnsiConsole.MarkupLineInterpolated($"serving [bold]{reply.Version}[/] now (training job {reply.TrainingJob}, round {reply.Round})");
            return 0;
        });
        return new Command("models", "The music party's published model versions (on the music host)") { music, list, show, rollback };
    }

    private static Federated.Transport.Client.CoordinatorConnection Open(CommonOptions common, Option<string?> music, ParseResult result) =>
        OperatorConnection.OpenMusic(result.GetValue(music), result.GetValue(common.Certificates), result.GetValue(common.Identity)!, common.Run(result));

    private static Table Versions(IEnumerable<ModelVersion> versions)
    {
        var table = new Table().AddColumns("version", "serving", "training job", "round", "attempt", "created", "d", "songs", "users", "schema");
        foreach (var v in versions)
            table.AddRow(v.Version, v.Current ? "[green]yes[/]" : "", Markup.Escape(v.TrainingJob), v.Round.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(v.AttemptId), Markup.Escape(v.Created), v.Dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture),
                v.Items.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), v.Users.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(v.SchemaFingerprint.Length > 12 ? v.SchemaFingerprint[..12] : v.SchemaFingerprint));
        return table;
    }
}
