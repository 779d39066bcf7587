using System.Net;

namespace Federated.Hosting;

/// <summary>Where a host listens and how it reports itself ("Host" section).</summary>
public sealed class FederatedHostOptions
{
    public const string SectionName = "Host";

    /// <summary>IP address to listen on (default loopback).</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (the actual port is written to <see cref="ReadyFile"/>).</summary>
    public int Port { get; set; }

    /// <summary>
    /// Port of the plain-HTTP listener that serves <c>/metrics</c> (Prometheus text format) and nothing else; 0 (default)
    /// = no metrics listener. It carries no client certificate check, so it binds <see cref="MetricsAddress"/> only.
    /// </summary>
    public int MetricsPort { get; set; }

    /// <summary>IP address of the metrics listener (default loopback: a scraper beside the host).</summary>
    public string MetricsAddress { get; set; } = "127.0.0.1";

    /// <summary>When set, the host writes its process id and address here once it listens (JSON).</summary>
    public string? ReadyFile { get; set; }

    /// <summary>When set, the host stops itself when that process is gone (local federations, tests).</summary>
    public int? ParentProcessId { get; set; }

    /// <summary>Optional log file (Serilog), in addition to the console.</summary>
    public string? LogFile { get; set; }

    /// <summary>
    /// A private folder (state, data) that other users may read: <c>Refuse</c> (default) stops the start with the folder
    /// named; <c>Warn</c> starts and reports it.
    /// </summary>
    public Federated.Core.FolderPermissionPolicy FolderPermissions { get; set; } = Federated.Core.FolderPermissionPolicy.Refuse;

    /// <summary>Checks the listeners' settings once at start; the message names the key.</summary>
    public (IPAddress Address, IPAddress? MetricsAddress) Validate()
    {
        if (!IPAddress.TryParse(Address, out var address))
            throw new InvalidOperationException($"Host:Address '{Address}' is not an IP address");
        if (Port is < 0 or > 65535)
            throw new InvalidOperationException($"Host:Port {Port} is not a TCP port (0-65535)");
        if (MetricsPort is < 0 or > 65535)
            throw new InvalidOperationException($"Host:MetricsPort {MetricsPort} is not a TCP port (1-65535, or 0 for no metrics listener)");
        if (MetricsPort == 0)
            return (address, null);
        if (!IPAddress.TryParse(MetricsAddress, out var metrics))
            throw new InvalidOperationException($"Host:MetricsAddress '{MetricsAddress}' is not an IP address");
        if (MetricsPort == Port)
            throw new InvalidOperationException($"Host:MetricsPort {MetricsPort} is also Host:Port; the metrics listener needs a port of its own");
        return (address, metrics);
    }
}

/// <summary>This host's certificate and the federation's authority ("Tls" section).</summary>
public sealed class TlsOptions
{
    public const string SectionName = "Tls";

    /// <summary>Folder with &lt;name&gt;.crt.pem and &lt;name&gt;.key.pem.</summary>
    public string CertificateDirectory { get; set; } = "certs";

    /// <summary>File name stem of this host's certificate, for example "coordinator", "music", "external".</summary>
    public string CertificateName { get; set; } = "";

    /// <summary>Folder with ca.crt.pem; defaults to <see cref="CertificateDirectory"/>.</summary>
    public string? AuthorityDirectory { get; set; }

    /// <summary>
    /// How often (seconds) the host reads its certificate files again and, when they hold a new certificate for the
    /// same party and role that chains to the authority, uses it for every new TLS connection. 0 = never.
    /// </summary>
    public int ReloadSeconds { get; set; } = 10;

    /// <summary>Warn (log and the expiry metric) when this host's certificate expires within this many days.</summary>
    public int ExpiryWarningDays { get; set; } = 14;

    /// <summary>Checks the settings once at start; the message names the key.</summary>
    public void Validate()
    {
        if (ReloadSeconds is < 0 or > 86_400)
            throw new InvalidOperationException($"Tls:ReloadSeconds {ReloadSeconds} is outside 0-86400 (0 = never reload)");
        if (ExpiryWarningDays is < 0 or > 3650)
            throw new InvalidOperationException($"Tls:ExpiryWarningDays {ExpiryWarningDays} is outside 0-3650");
    }
}
