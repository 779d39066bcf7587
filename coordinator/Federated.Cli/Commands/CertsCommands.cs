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
        return new Command("certs", "Certificates of a federation") { create };
    }
}
