using Federated.Security;
using Federated.Transport.Client;

namespace Federated.Operator;

/// <summary>An operator's mutual-TLS connection to a coordinator or to the music host, from a certificate folder and an address.</summary>
public static class OperatorConnection
{
    /// <param name="coordinator">The coordinator's address; null: the address file of <paramref name="run"/>.</param>
    /// <param name="certificateDirectory">Folder with ca.crt.pem and the identity's certificate; null: the run folder's.</param>
    public static CoordinatorConnection Open(string? coordinator, string? certificateDirectory, string identity, RunFolder run) =>
        Connect("coordinator", !string.IsNullOrEmpty(coordinator) ? coordinator : LocalAddress(run.CoordinatorAddressFile, "--coordinator", "`fedlocal federation start` writes it",
            file => File.ReadAllText(file).Trim()), certificateDirectory, identity, run, PartyRole.Coordinator);

    /// <summary>
    /// A mutual-TLS connection to the music party's host (its serving API): the server must present a certificate
    /// with the music role from the federation's CA.
    /// </summary>
    /// <param name="music">The music host's address; null: the one in the local run folder's music ready file.</param>
    public static CoordinatorConnection OpenMusic(string? music, string? certificateDirectory, string identity, RunFolder run) =>
        Connect("music host", !string.IsNullOrEmpty(music) ? music : LocalAddress(run.ReadyFile(RunFolder.MusicName), "--music", "the music host writes it once it listens", file =>
        {
            try { return System.Text.Json.JsonSerializer.Deserialize<Federated.Core.HostReadyFile>(File.ReadAllText(file))?.Address ?? ""; }
            catch (System.Text.Json.JsonException e) { throw new OperatorException($"{file} is not a valid ready file: {e.Message}"); }
        }), certificateDirectory, identity, run, PartyRole.Music);

    private static string LocalAddress(string file, string option, string writer, Func<string, string> read) =>
        File.Exists(file) ? read(file)
            : throw new OperatorException($"no {option} given and no local federation is running ({file} does not exist; {writer})");

    private static CoordinatorConnection Connect(string what, string address, string? certificateDirectory, string identity, RunFolder run, PartyRole serverRole)
    {
        var certificates = Path.GetFullPath(certificateDirectory ?? run.Certificates);
        if (!File.Exists(CertificateFiles.CertificatePath(certificates, identity)))
            throw new OperatorException($"certificate {CertificateFiles.CertificatePath(certificates, identity)} does not exist (use --certs and --identity, or `fedctl certs create`)");
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
            throw new OperatorException($"{what} address '{address}' is not an absolute https:// URI");
        var certificate = CertificateFiles.Load(certificates, identity, withPrivateKey: true);
        var authority = CertificateFiles.LoadAuthority(certificates);
        return CoordinatorConnection.Open(uri, certificate, new CertificateValidator(authority), expectedServerRole: serverRole);
    }
}
