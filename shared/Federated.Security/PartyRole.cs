namespace Federated.Security;

/// <summary>
/// The role a certificate grants. It is written into the certificate subject as the organisational unit
/// (<c>OU=</c>), so a party cannot claim a role its certificate authority did not give it.
/// </summary>
public enum PartyRole
{
    /// <summary>The coordinator: registry, relay, job state, audit log. Holds no data and no payload keys.</summary>
    Coordinator,

    /// <summary>M, the music party (labels, item tower, top model).</summary>
    Music,

    /// <summary>E, the external party (rich user features, bottom user tower).</summary>
    External,

    /// <summary>A human operator using the CLI against the coordinator.</summary>
    Operator,
}
