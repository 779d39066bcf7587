using Federated.Security;
using Federated.Transport.Client;

namespace Federated.Operator;

/// <summary>An operator's mutual-TLS connection to a coordinator, from a certificate folder and an address.</summary>
public static class OperatorConnection
{
    /// <param name="coordinator">The coordinator's address; null: the address file of <paramref name="run"/>.</param>
    /// <param name="certificateDirectory">Folder with ca.crt.pem and the identity's certificate; null: the run folder's.</param>
    public static CoordinatorConnection Open(string? coordinator, string? certificateDirectory, string identity, RunFolder run)
    {
        var certificates = Path.GetFullPath(certificateDirectory ?? run.Certificates);
        if (!File.Exists(CertificateFiles.CertificatePath(certificates, identity)))
            throw new OperatorException($"operator certificate {CertificateFiles.CertificatePath(certificates, identity)} does not exist (use --certs and --identity, or `fedctl certs create`)");
        var address = coordinator;
        if (string.IsNullOrEmpty(address))
        {
            var file = run.CoordinatorAddressFile;
            if (!File.Exists(file))
                throw new OperatorException($"no --coordinator given and no local federation is running ({file} does not exist; `fedlocal federation start` writes it)");
            address = File.ReadAllText(file).Trim();
        }
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
            throw new OperatorException($"coordinator address '{address}' is not an absolute https:// URI");
        var certificate = CertificateFiles.Load(certificates, identity, withPrivateKey: true);
        var authority = CertificateFiles.LoadAuthority(certificates);
        return CoordinatorConnection.Open(uri, certificate, new CertificateValidator(authority));
    }

    /// <summary>
    /// A mutual-TLS connection to the music party's host (its serving API): the server must present a certificate
    /// with the music role from the federation's CA.
    /// </summary>
    /// <param name="music">The music host's address; null: the one in the local run folder's music ready file.</param>
    public static CoordinatorConnection OpenMusic(string? music, string? certificateDirectory, string identity, RunFolder run)
    {
        var certificates = Path.GetFullPath(certificateDirectory ?? run.Certificates);
        if (!File.Exists(CertificateFiles.CertificatePath(certificates, identity)))
            throw new OperatorException($"certificate {CertificateFiles.CertificatePath(certificates, identity)} does not exist (use --certs and --identity)");
        var address = music;
        if (string.IsNullOrEmpty(address))
        {
            var file = run.ReadyFile(RunFolder.MusicName);
            if (!File.Exists(file))
                throw new OperatorException($"no --music given and no local music host is running ({file} does not exist)");
            try { address = System.Text.Json.JsonSerializer.Deserialize<Federated.Core.HostReadyFile>(File.ReadAllText(file))?.Address; }
            catch (System.Text.Json.JsonException e) { throw new OperatorException($"{file} is not a valid ready file: {e.Message}"); }
        }
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
            throw new OperatorException($"music host address '{address}' is not an absolute https:// URI");
        var certificate = CertificateFiles.Load(certificates, identity, withPrivateKey: true);
        var authority = CertificateFiles.LoadAuthority(certificates);
        return CoordinatorConnection.Open(uri, certificate, new CertificateValidator(authority), expectedServerRole: PartyRole.Music);
    }
}
