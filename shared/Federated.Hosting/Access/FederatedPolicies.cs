using Federated.Security;

namespace Federated.Hosting.Access;

/// <summary>
/// The named authorization policies of the federation's RPCs, each a set of roles (from the caller's registry entry
/// on the coordinator). Apply them with <c>[Authorize(Policy = FederatedPolicies.Party)]</c>.
/// </summary>
public static class FederatedPolicies
{
    /// <summary>One of the two data parties (music or external).</summary>
    public const string Party = "Party";

    /// <summary>An operator.</summary>
    public const string Operator = "Operator";

    /// <summary>A data party (for what concerns it) or an operator.</summary>
    public const string PartyOrOperator = "PartyOrOperator";

    /// <summary>Every policy with the roles it admits, in the order refusal messages name them.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<PartyRole>> Roles { get; } = new Dictionary<string, IReadOnlyList<PartyRole>>
    {
        [Party] = [PartyRole.Music, PartyRole.External],
        [Operator] = [PartyRole.Operator],
        [PartyOrOperator] = [PartyRole.Music, PartyRole.External, PartyRole.Operator],
    };
}
