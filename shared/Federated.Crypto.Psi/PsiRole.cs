namespace Federated.Crypto.Psi;

/// <summary>The two PSI roles (docs/protocol.md §1): M intersects and tells E which of E's positions matched.</summary>
public enum PsiRole
{
    /// <summary>M, the music party: blinds with scalar a, computes the intersection.</summary>
    Music,
    /// <summary>E, the external party: blinds with scalar b, re-blinds M's points, learns its matched positions.</summary>
    External,
}

internal static class PsiRoleNames
{
    public static string Name(this PsiRole role) => role == PsiRole.Music ? "music" : "external";
    public static PsiRole Other(this PsiRole role) => role == PsiRole.Music ? PsiRole.External : PsiRole.Music;
}
