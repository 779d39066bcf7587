using System.CommandLine;
using Federated.Security;
using Spectre.Console;

namespace Federated.Cli.Commands;

public static class CertsCommands
{
    public static Command Create(CommonOptions common)
    {
        var directory = new Option<string?>("--out") { Description = "Folder to write into; default <run-dir>/certs" };
        var force = new Option<bool>("--force") { Description = "Replace existing certificate files" };
        var create = new Command("create", "Create a development CA and certificates for coordinator, music, external and operator") { directory, force };
        create.SetAction(result =>
        {
            var target = Path.GetFullPath(result.GetValue(directory) ?? common.Run(result).Certificates);
            var written = CertificateFiles.CreateDevelopmentSet(target, CertificateFiles.DevelopmentParties, result.GetValue(force));
            var table = new Table().AddColumns("party", "role", "fingerprint (SHA-256)");
            foreach (var (party, role) in CertificateFiles.DevelopmentParties)
            {
                using var certificate = CertificateFiles.Load(target, party, withPrivateKey: false);
                table.AddRow(party, role.ToString(), CertificateFactory.Fingerprint(certificate));
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"wrote {written.Count} files to [bold]{target}[/] (private keys 0600; development use only)");
            return 0;
        });
        var authority = new Option<string?>("--ca") { Description = "Folder with the authority's ca.crt.pem and ca.key.pem; default <run-dir>/certs" };
        var party = new Option<string>("--party") { Description = "Party id (the certificate's CN)", Required = true };
        var role = new Option<PartyRole>("--role") { Description = "Role (the certificate's OU): Music, External, Operator or Coordinator", Required = true };
        var days = new Option<int>("--days") { Description = "Validity in days from now (at most the authority's)", DefaultValueFactory = _ => 365 };
        var dns = new Option<string[]>("--dns") { Description = "Further DNS names of the party's TLS endpoint", AllowMultipleArgumentsPerToken = true };
        var issueOut = new Option<string?>("--out") { Description = "Folder to write <party>.crt.pem and <party>.key.pem into; default the authority's folder" };
        var replace = new Option<bool>("--force") { Description = "Replace the party's certificate files there (a host reading them rotates to the new certificate)" };
        var issue = new Command("issue", "Issue a new certificate for one party from the federation's authority (to rotate or add a party)")
        {
            authority, party, role, days, dns, issueOut, replace,
        };
        issue.SetAction(result =>
        {
            var caFolder = Path.GetFullPath(result.GetValue(authority) ?? common.Run(result).Certificates);
            var target = Path.GetFullPath(result.GetValue(issueOut) ?? caFolder);
            var partyId = result.GetValue(party)!;
            var validity = result.GetValue(days);
            if (validity <= 0)
                throw new ArgumentException($"--days {validity} must be positive");
            var certificatePath = CertificateFiles.CertificatePath(target, partyId);
            if (!result.GetValue(replace) && (File.Exists(certificatePath) || File.Exists(CertificateFiles.KeyPath(target, partyId))))
                throw new IOException($"{certificatePath} (or its key) already exists; pass --force to replace it");
            using var ca = CertificateFiles.Load(caFolder, CertificateFiles.AuthorityName, withPrivateKey: true);
            using var issued = CertificateFactory.IssueParty(ca, partyId, result.GetValue(role), result.GetValue(dns) ?? [], TimeSpan.FromDays(validity));
            CertificateFiles.Save(issued, target, partyId);
            AnsiConsole.Write(new Table().AddColumns("party", "role", "fingerprint (SHA-256)", "valid until")
                .AddRow(partyId, result.GetValue(role).ToString(), CertificateFactory.Fingerprint(issued), issued.NotAfter.ToUniversalTime().ToString("u")));
            AnsiConsole.MarkupLineInterpolated($"wrote [bold]{certificatePath}[/] and its key (0600); enrol it with fedctl parties enroll --cert {certificatePath}");
            return 0;
        });
        return new Command("certs", "Certificates of a federation") { create, issue };
    }
}
