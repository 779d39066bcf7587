using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>
/// Entry point of the ECDH-PSI (docs/protocol.md §1). Each party calls <see cref="RunAsync"/> with its role,
/// its channel to the other party, its IDs and a job folder; both get the same aligned rows in the same order.
/// </summary>
public static class PsiParty
{
    public static Task<PsiResult> RunAsync(PsiRole role, IPeerChannel channel, IdSource ids, PsiOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        PsiSession session = role switch
        {
            PsiRole.Music => new PsiMusicSession(channel, ids, options),
            PsiRole.External => new PsiExternalSession(channel, ids, options),
            _ => throw new ArgumentOutOfRangeException(nameof(role), role, "a PSI role is Music or External"),
        };
        return session.RunAsync(cancellationToken);
    }
}

/// <summary>M's side of the PSI: blinds with a, re-blinds E's points, intersects and tells E its matched positions.</summary>
public static class PsiMusicRole
{
    public static Task<PsiResult> RunAsync(IPeerChannel channel, IdSource ids, PsiOptions options, CancellationToken cancellationToken = default)
        => PsiParty.RunAsync(PsiRole.Music, channel, ids, options, cancellationToken);
}

/// <summary>E's side of the PSI: blinds with b, re-blinds M's points, learns which of its own positions matched.</summary>
public static class PsiExternalRole
{
    public static Task<PsiResult> RunAsync(IPeerChannel channel, IdSource ids, PsiOptions options, CancellationToken cancellationToken = default)
        => PsiParty.RunAsync(PsiRole.External, channel, ids, options, cancellationToken);
}
