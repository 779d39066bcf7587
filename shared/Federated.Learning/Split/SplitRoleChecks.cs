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

    public static SplitTrainingMessage KeyAnnouncement(SplitTrainingOptions options, IInteractiveLayerCryptoSession crypto, int rows) => new()
    {
        KeyAnnouncement = new KeyAnnouncement
        {
            Header = SplitTrainingMessages.NewHeader(options.JobId, crypto.Mode, 0, rows),
            Scheme = crypto.Scheme,
            PublicKeys = ByteString.CopyFrom(crypto.ExportPublicKeys()),
            BottomWidth = (uint)options.BottomWidth,
            InteractiveWidth = (uint)options.InteractiveWidth,
        },
    };

    public static void ImportPeerKeys(SplitTrainingOptions options, IInteractiveLayerCryptoSession crypto, KeyAnnouncement announcement, string peer)
    {
        if (announcement.Scheme != crypto.Scheme)
            throw new ProtocolViolationException($"key announcement: {peer} uses scheme '{announcement.Scheme}', this party '{crypto.Scheme}'");
        if (announcement.BottomWidth != options.BottomWidth || announcement.InteractiveWidth != options.InteractiveWidth)
            throw new ProtocolViolationException(
                $"key announcement: {peer} trains k={announcement.BottomWidth}, d={announcement.InteractiveWidth}; this party k={options.BottomWidth}, d={options.InteractiveWidth}");
        Guard("key announcement", () => { crypto.ImportPeerPublicKeys(announcement.PublicKeys.ToByteArray()); return 0; });
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
