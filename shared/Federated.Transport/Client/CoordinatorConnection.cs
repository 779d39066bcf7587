using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Federated.Security;
using Federated.Transport.Relay;
using Federated.Transport.V1;
using Grpc.Net.Client;

namespace Federated.Transport.Client;

/// <summary>
/// A mutual-TLS gRPC connection from a party or the operator CLI to the coordinator. The client presents its own
/// certificate and trusts only the configured authority (never the system store); the server must also present a
/// certificate with the coordinator role.
/// </summary>
public sealed class CoordinatorConnection : IDisposable
{
    private CoordinatorConnection(GrpcChannel channel, Uri address)
    {
        Channel = channel;
        Address = address;
        Registry = new Registry.RegistryClient(channel);
        Jobs = new Jobs.JobsClient(channel);
        JobDefinitions = new JobDefinitions.JobDefinitionsClient(channel);
        Relay = new V1.Relay.RelayClient(channel);
        Health = new Grpc.Health.V1.Health.HealthClient(channel);
    }

    public GrpcChannel Channel { get; }
    public Uri Address { get; }
    public Registry.RegistryClient Registry { get; }
    public Jobs.JobsClient Jobs { get; }
    public JobDefinitions.JobDefinitionsClient JobDefinitions { get; }
    public V1.Relay.RelayClient Relay { get; }
    public Grpc.Health.V1.Health.HealthClient Health { get; }

    /// <summary>Opens a channel (connections are made lazily, on the first call).</summary>
    /// <param name="address">The coordinator, for example https://127.0.0.1:7443.</param>
    /// <param name="ownCertificate">This client's certificate with its private key.</param>
    /// <param name="validator">Trusts the federation's authority only.</param>
    /// <param name="limits">Relay bounds; the gRPC message caps follow the chunk size.</param>
    /// <param name="expectedServerRole">The role the server certificate must carry (the coordinator's, or a party's for health checks).</param>
    public static CoordinatorConnection Open(Uri address, X509Certificate2 ownCertificate, CertificateValidator validator,
        RelayLimits? limits = null, PartyRole expectedServerRole = PartyRole.Coordinator)
    {
        ArgumentNullException.ThrowIfNull(ownCertificate);
        return Open(address, () => ownCertificate, validator, limits, expectedServerRole);
    }

    /// <summary>
    /// Opens a channel whose new TLS connections present the certificate <paramref name="ownCertificate"/> returns
    /// when each is made, so that a rotated certificate takes over after <see cref="RenewConnections"/>.
    /// </summary>
    public static CoordinatorConnection Open(Uri address, Func<X509Certificate2> ownCertificate, CertificateValidator validator,
        RelayLimits? limits = null, PartyRole expectedServerRole = PartyRole.Coordinator)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(ownCertificate);
        ArgumentNullException.ThrowIfNull(validator);
        if (address.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"the coordinator address must be https:// (mutual TLS), got '{address}'", nameof(address));
        var first = ownCertificate();
        if (!first.HasPrivateKey)
            throw new ArgumentException($"client certificate '{first.Subject}' has no private key", nameof(ownCertificate));
        limits ??= new RelayLimits();
        var problem = new StrongBox<string?>();

        SocketsHttpHandler CreateHandler()
        {
            var certificate = ownCertificate();
            return new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                ConnectTimeout = TimeSpan.FromSeconds(10),
                SslOptions = new SslClientAuthenticationOptions
                {
                    ClientCertificates = new X509CertificateCollection { certificate },
                    LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate,
                    RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    {
                        var accepted = ServerCertificateAcceptable(presented, validator, expectedServerRole, address, out var reason);
                        problem.Value = reason;
                        return accepted;
                    },
                },
            };
        }

        var handler = new RenewableHandler(CreateHandler);
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = limits.GrpcMessageBytes,
            MaxSendMessageSize = limits.GrpcMessageBytes,
        });
        return new CoordinatorConnection(channel, address) { _serverCertificateProblem = problem, _handler = handler };
    }

    private RenewableHandler? _handler;

    /// <summary>
    /// Makes every later call open new TLS connections (presenting the certificate the source gives now); calls in
    /// progress, streams included, finish on the connections they run on.
    /// </summary>
    public void RenewConnections() => _handler?.Renew();

    /// <summary>
    /// Sends each request through the newest connection pool; older pools stay open for the streams still running on
    /// them and close with the channel.
    /// </summary>
    private sealed class RenewableHandler(Func<SocketsHttpHandler> create) : HttpMessageHandler
    {
        private readonly object _gate = new();
        private readonly List<HttpMessageInvoker> _previous = [];
        private HttpMessageInvoker _current = new(create(), disposeHandler: true);

        public void Renew()
        {
            var next = new HttpMessageInvoker(create(), disposeHandler: true);
            lock (_gate)
            {
                _previous.Add(_current);
                _current = next;
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpMessageInvoker invoker;
            lock (_gate) invoker = _current;
            return invoker.SendAsync(request, cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                lock (_gate)
                {
                    _current.Dispose();
                    foreach (var previous in _previous)
                        previous.Dispose();
                    _previous.Clear();
                }
            }
            base.Dispose(disposing);
        }
    }

    private StrongBox<string?> _serverCertificateProblem = new();

    /// <summary>Why the server's certificate was last refused (null when the last check passed), for error messages.</summary>
    public string? ServerCertificateProblem => _serverCertificateProblem.Value;

    /// <summary>Server certificate check: chains to the federation authority and carries the expected role.</summary>
    public static bool ServerCertificateAcceptable(X509Certificate? presented, CertificateValidator validator,
        PartyRole expectedRole, Uri address, out string? reason)
    {
        if (presented is null)
        {
            reason = $"{address} presented no certificate";
            return false;
        }
        using var certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        var check = validator.Validate(certificate, CertificatePurpose.Server);
        if (!check.IsValid)
        {
            reason = $"{address} presented certificate '{certificate.Subject}' that does not chain to the federation authority: {check.Reason}";
            return false;
        }
        var (_, role) = CertificateFactory.ReadIdentity(certificate);
        if (role != expectedRole)
        {
            reason = $"{address} presented certificate '{certificate.Subject}' with role {role}; expected {expectedRole}";
            return false;
        }
        reason = null;
        return true;
    }

    public void Dispose()
    {
        Channel.Dispose();
        _handler?.Dispose(); // the channel disposed it already through its HttpClient; a second Dispose is a no-op
    }
}
