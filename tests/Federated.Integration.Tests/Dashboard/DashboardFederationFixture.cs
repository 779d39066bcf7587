using Federated.Operator;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Federated.Launcher;
using Federated.Security;

namespace Federated.Integration.Tests.Dashboard;

/// <summary>
/// A tiny-world federation whose coordinator serves the dashboard on its own loopback port, with an operator token (in
/// clear) and an auditor token (configured by its SHA-256), and is told where M's model-version API is (M on a fixed
/// port, the coordinator on M's administrator list).
/// </summary>
public sealed class DashboardFederationFixture() : TinyWorldFederationFixture("dashboard")
{
    public const string OperatorToken = "op-token-2f6c1e9a7b4d4e0f";
    public const string AuditorToken = "auditor-token-8d3a51c07e2b49aa";

    public int DashboardPort { get; } = FreePort();
    public int MusicPort { get; } = FreePort();
    public Uri Dashboard => new($"https://127.0.0.1:{DashboardPort}/");

    protected override LocalFederationOptions Configure(LocalFederationOptions options)
    {
        var hosts = WithWorld(Restartable(options, partyLostSeconds: 30));
        var auditorHash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(AuditorToken)));
        return hosts with
        {
            MusicPort = MusicPort,
            ExtraArguments = [.. hosts.ExtraArguments,
                $"--Coordinator:Dashboard:Port={DashboardPort}",
                "--Coordinator:Dashboard:Tokens:0:Name=ops", "--Coordinator:Dashboard:Tokens:0:Role=operator", $"--Coordinator:Dashboard:Tokens:0:Token={OperatorToken}",
                "--Coordinator:Dashboard:Tokens:1:Name=audit", "--Coordinator:Dashboard:Tokens:1:Role=auditor", $"--Coordinator:Dashboard:Tokens:1:Sha256={auditorHash}",
                $"--Coordinator:Dashboard:ModelsAddress=https://127.0.0.1:{MusicPort}",
                $"--Serving:Administrators:1={RunFolder.CoordinatorName}"],
        };
    }

    /// <summary>An HTTPS client of the dashboard that trusts only the federation's CA; optionally with a bearer token or a client certificate.</summary>
    public HttpClient Client(string? token = null, string? certificate = null)
    {
        var validator = new CertificateValidator(CertificateFiles.LoadAuthority(Certificates));
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, presented, _, _) =>
                presented is not null && validator.Validate(presented, CertificatePurpose.Server).IsValid,
            UseCookies = false,
        };
        if (certificate is not null)
        {
            handler.ClientCertificateOptions = ClientCertificateOption.Manual;
            handler.ClientCertificates.Add(CertificateFiles.Load(Certificates, certificate, withPrivateKey: true));
        }
        var client = new HttpClient(handler) { BaseAddress = Dashboard, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>Where screenshots go: FEDERATED_TEST_ARTIFACTS, else artifacts/dashboard beside the test assembly.</summary>
    public static string ArtifactsFolder()
    {
        var root = Environment.GetEnvironmentVariable("FEDERATED_TEST_ARTIFACTS");
        var folder = Path.Combine(string.IsNullOrWhiteSpace(root) ? Path.Combine(AppContext.BaseDirectory, "artifacts") : root, "dashboard");
        Directory.CreateDirectory(folder);
        return folder;
    }

    public static void Ignore(HttpStatusCode _) { }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DashboardFederationCollection : ICollectionFixture<DashboardFederationFixture>
{
    public const string Name = "dashboard-federation";
}
