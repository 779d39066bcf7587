using Federated.Core;
using Federated.Learning.Crypto;
using Federated.Learning.Protocol.V1;
using Google.Protobuf;

namespace Federated.Learning.Split;

/// <summary>Checks and setup steps the two roles share.</summary>
internal static class SplitRoleChecks
{
    public static void RequireModeAllowed(SplitTrainingOptions options, CryptoMode mode)
    {
        if (mode == CryptoMode.PlaintextReference && !options.Insecure.HasFlag(InsecureAllowances.PlaintextReference))
            throw new InvalidOperationException(
                "the crypto session is the plaintext reference (no encryption); the role refuses to run unless the job's Insecure includes PlaintextReference");
        if (mode == CryptoMode.Unspecified) throw new ArgumentException("the crypto session reports no mode");
    }

    public static SplitTrainingMessage KeyAnnouncement(SplitTrainingOptions options, IInteractiveLayerCryptoSession crypto, int rows) =>
        new() { KeyAnnouncement = Announcement(options, crypto, SplitTrainingMessages.NewHeader(options.JobId, crypto.Mode, 0, rows)) };

    private static KeyAnnouncement Announcement(SplitTrainingOptions options, IInteractiveLayerCryptoSession crypto, StepHeader header) => new()
    {
        Header = header,
        Scheme = crypto.Scheme,
        PublicKeys = ByteString.CopyFrom(crypto.ExportPublicKeys()),
        BottomWidth = (uint)options.BottomWidth,
        InteractiveWidth = (uint)options.InteractiveWidth,
    };

    /// <summary>
    /// Rotates this party's key pair when its remaining releases cannot cover the step's release of
    /// <paramref name="needed"/> ciphertexts; returns the announcement of the new keys to send with the step, or null.
    /// </summary>
    public static KeyAnnouncement? RotateIfNeeded(SplitTrainingOptions options, IInteractiveLayerCryptoSession crypto, int needed, string step, StepHeader header)
    {
        if (needed > crypto.ReleaseBudget)
            throw new ReleaseBudgetExhaustedException(
                $"{step} releases {needed} ciphertexts per step, more than a key's whole budget of {crypto.ReleaseBudget}; raise the budget or shrink the batch");
        if (crypto.ReleaseBudget - crypto.ReleasesUsed >= needed) return null;
        crypto.RotateKeys();
        return Announcement(options, crypto, header.Clone());
    }

    /// <summary>Installs the peer's rotated keys announced inside a step message.</summary>
    public static void ImportRotatedKeys(SplitTrainingOptions options, IInteractiveLayerCryptoSession crypto, KeyAnnouncement announcement, string peer, StepHeader stepHeader)
    {
        if (announcement.Header is null || !announcement.Header.Equals(stepHeader))
            throw new ProtocolViolationException($"key rotation: {peer}'s new keys carry a header that does not match the step message's");
        ImportPeerKeys(options, crypto, announcement, peer, replace: true);
    }

    public static void ImportPeerKeys(SplitTrainingOptions options, IInteractiveLayerCryptoSession crypto, KeyAnnouncement announcement, string peer, bool replace = false)
    {
        if (announcement.Scheme != crypto.Scheme)
            throw new ProtocolViolationException($"key announcement: {peer} uses scheme '{announcement.Scheme}', this party '{crypto.Scheme}'");
        if (announcement.BottomWidth != options.BottomWidth || announcement.InteractiveWidth != options.InteractiveWidth)
            throw new ProtocolViolationException(
                $"key announcement: {peer} trains k={announcement.BottomWidth}, d={announcement.InteractiveWidth}; this party k={options.BottomWidth}, d={options.InteractiveWidth}");
        Guard("key announcement", () =>
        {
            if (replace) crypto.ReplacePeerPublicKeys(announcement.PublicKeys.ToByteArray());
            else crypto.ImportPeerPublicKeys(announcement.PublicKeys.ToByteArray());
            return 0;
        });
    }

    /// <summary>Runs a crypto step, turning a malformed block into a protocol violation that names the step.</summary>
    public static T Guard<T>(string step, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (MalformedCipherBlockException e)
        {
            throw new ProtocolViolationException($"{step}: malformed message: {e.Message}");
        }
    }
}
