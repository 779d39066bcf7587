using Federated.Hosting.Local;
using Federated.Security;
using Federated.Transport.Client;

namespace Federated.Cli;

/// <summary>An operator's mutual-TLS connection to a coordinator, from a certificate folder and an address.</summary>
public static class OperatorSession
{
    public static CoordinatorConnection Open(string? coordinator, string? certificateDirectory, string identity, string runDirectory)
    {
        var certificates = Path.GetFullPath(certificateDirectory ?? LocalFederation.CertificatesIn(runDirectory));
        if (!File.Exists(CertificateFiles.CertificatePath(certificates, identity)))
            throw new CliException($"operator certificate {CertificateFiles.CertificatePath(certificates, identity)} does not exist (use --certs and --identity, or `fedctl certs create`)");
        var address = coordinator;
        if (string.IsNullOrEmpty(address))
        {
            var file = LocalFederation.AddressFileOf(runDirectory);
            if (!File.Exists(file))
                throw new CliException($"no --coordinator given and no local federation is running ({file} does not exist; `fedctl federation start` writes it)");
            address = File.ReadAllText(file).Trim();
        }
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
            throw new CliException($"coordinator address '{address}' is not an absolute https:// URI");
        var certificate = CertificateFiles.Load(certificates, identity, withPrivateKey: true);
        var authority = CertificateFiles.LoadAuthority(certificates);
        return CoordinatorConnection.Open(uri, certificate, new CertificateValidator(authority));
    }
}

/// <summary>A user-facing CLI error: printed without a stack trace, exit code 1.</summary>
public sealed class CliException(string message) : Exception(message);
