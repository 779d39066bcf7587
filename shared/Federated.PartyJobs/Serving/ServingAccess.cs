using Federated.Hosting.Access;
using Microsoft.AspNetCore.Authorization;

namespace Federated.PartyJobs.Serving;

/// <summary>
/// The serving API's policies: a caller is admitted when its party id or its certificate fingerprint is on the
/// list the music party configured (<see cref="ServingOptions.AllowedCallers"/> for recall,
/// <see cref="ServingOptions.Administrators"/> for model versions). The federation's roles grant nothing here: being
/// the external party or the coordinator's operator does not make a caller one of M's serving clients.
/// </summary>
public static class ServingPolicies
{
    public const string RecallCaller = "ServingRecallCaller";
    public const string ModelAdministrator = "ServingModelAdministrator";

    internal static AuthorizationBuilder AddServingPolicies(this AuthorizationBuilder builder, ServingOptions options)
    {
        builder.AddPolicy(RecallCaller, policy => policy.RequireAuthenticatedUser().RequireAssertion(c => Listed(c, options.AllowedCallers)));
        builder.AddPolicy(ModelAdministrator, policy => policy.RequireAuthenticatedUser().RequireAssertion(c => Listed(c, options.Administrators)));
        return builder;
    }

    internal static bool Listed(AuthorizationHandlerContext context, IReadOnlyCollection<string> callers)
    {
        if (FederatedCaller.From(context.User) is not { } caller) return false;
        var fingerprint = context.User.FindFirst(FederatedCaller.FingerprintClaim)?.Value;
        return callers.Any(c => string.Equals(c, caller.PartyId, StringComparison.Ordinal)
            || (fingerprint is not null && string.Equals(c, fingerprint, StringComparison.OrdinalIgnoreCase)));
    }
}
