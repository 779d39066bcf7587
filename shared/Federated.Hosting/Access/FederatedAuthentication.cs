using System.Security.Cryptography.X509Certificates;
using Federated.Security;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Federated.Hosting.Access;

/// <summary>
/// Certificate authentication and the federation's role policies, shared by every host. A request is authenticated
/// from the TLS client certificate: it must pass the same check as the TLS handshake (the federation's CA only,
/// validity, end-entity, client-authentication usage) and then resolve through the host's
/// <see cref="ICallerDirectory"/> to a party id and role, which become claims. Endpoints without a policy need an
/// authenticated caller (the fallback policy); the health service is open to any TLS client. Refusals answer as gRPC
/// statuses (<see cref="GrpcRefusalResultHandler"/>).
/// </summary>
public static class FederatedAuthentication
{
    public static IServiceCollection AddFederatedAuthentication(this IServiceCollection services, TlsIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        services.TryAddSingleton<ICallerDirectory, CertificateSubjectDirectory>();
        services.AddAuthentication(CertificateAuthenticationDefaults.AuthenticationScheme)
            .AddCertificate(options =>
            {
                // The handler's own chain check, set to what the TLS handshake accepts: only the federation's CA,
                // no revocation lists (revocation is the registry's pinned fingerprints).
                options.AllowedCertificateTypes = CertificateTypes.Chained;
                options.ChainTrustValidationMode = X509ChainTrustMode.CustomRootTrust;
                options.CustomTrustStore = [identity.Authority];
                options.RevocationMode = X509RevocationMode.NoCheck;
                options.ValidateCertificateUse = true;
                options.ValidateValidityPeriod = true;
                options.Events = new CertificateAuthenticationEvents { OnCertificateValidated = Resolve };
            });
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddRolePolicies();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, GrpcRefusalResultHandler>();
        return services;
    }

    private static AuthorizationBuilder AddRolePolicies(this AuthorizationBuilder builder)
    {
        foreach (var (name, roles) in FederatedPolicies.Roles)
            builder.AddPolicy(name, policy => policy.RequireAuthenticatedUser().RequireRole(roles.Select(r => r.ToString())));
        return builder;
    }

    private static Task Resolve(CertificateValidatedContext context)
    {
        var certificate = context.ClientCertificate;
        var identity = context.HttpContext.RequestServices.GetRequiredService<TlsIdentity>();
        var check = identity.Validator.Validate(certificate, CertificatePurpose.Client);
        if (!check.IsValid)
        {
            context.Fail(new CallerRefusedException(StatusCode.Unauthenticated, check.Reason!));
            return Task.CompletedTask;
        }
        try
        {
            var caller = context.HttpContext.RequestServices.GetRequiredService<ICallerDirectory>().Resolve(certificate);
            context.Principal = caller.ToPrincipal(context.Scheme.Name, CertificateFactory.Fingerprint(certificate));
            context.Success();
        }
        catch (CallerRefusedException refused)
        {
            context.Fail(refused);
        }
        return Task.CompletedTask;
    }
}
