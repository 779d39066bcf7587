using Federated.Launcher;

namespace Federated.Integration.Tests;

/// <summary>
/// The federation of the relay, access-control, job-control and restart tests: a coordinator on a fixed free port
/// (so it can be restarted where the parties expect it) and fast heartbeats, so a lost party is noticed within seconds.
/// </summary>
public sealed class FederationFixture() : LocalFederationFixture("relay")
{
    public const int PartyLostSeconds = 25; // above a restarted coordinator's reconnect time under load (12 s seen with other collections running)

    protected override LocalFederationOptions Configure(LocalFederationOptions options) => Restartable(options, PartyLostSeconds);
}

[CollectionDefinition(Name)]
public sealed class FederationCollection : ICollectionFixture<FederationFixture>
{
    public const string Name = "federation";
}
