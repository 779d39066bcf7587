using System.CommandLine;
using Federated.Operator;
using Federated.Transport.V1;
using Spectre.Console;

namespace Federated.Cli.Commands;

public static class PartiesCommands
{
    public static Command Create(CommonOptions common)
    {
        var list = new Command("list", "List enrolled parties with role, pinned fingerprint, revoked flag and presence");
        list.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            var reply = await connection.Registry.ListPartiesAsync(new ListPartiesRequest(), cancellationToken: ct);
            AnsiConsole.Write(OperatorTables.Parties(reply.Parties));
            return 0;
        });

        var certificate = new Option<string>("--cert") { Description = "PEM certificate of the party (CN = party id, OU = role)", Required = true };
        var retirePrevious = new Option<bool>("--retire-previous")
        {
            Description = "For a party already enrolled: refuse its previous certificate at once (a compromised key) instead of accepting it through the coordinator's overlap",
        };
        var enroll = new Command("enroll", "Enrol a party certificate (pins its fingerprint); for an enrolled party, rotate it to this certificate") { certificate, retirePrevious };
        enroll.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            var path = Path.GetFullPath(result.GetValue(certificate)!);
            if (!File.Exists(path))
                throw new OperatorException($"certificate file {path} does not exist");
            var party = await connection.Registry.EnrollPartyAsync(new EnrollPartyRequest
            {
                CertificatePem = await File.ReadAllTextAsync(path, ct),
                RetirePrevious = result.GetValue(retirePrevious),
            }, cancellationToken: ct);
            AnsiConsole.Write(OperatorTables.Parties([party]));
            return 0;
        });

        var partyId = new Argument<string>("party-id") { Description = "The party to revoke" };
        var revoke = new Command("revoke", "Revoke a party: its certificate is refused from now on") { partyId };
        revoke.SetAction(async (result, ct) =>
        {
            using var connection = common.Connect(result);
            var party = await connection.Registry.RevokePartyAsync(new RevokePartyRequest { PartyId = result.GetValue(partyId)! }, cancellationToken: ct);
            AnsiConsole.Write(OperatorTables.Parties([party]));
            return 0;
        });
        return new Command("parties", "The coordinator's party registry") { list, enroll, revoke };
    }
}
