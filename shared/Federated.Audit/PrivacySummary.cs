using System.Globalization;
using System.Text.RegularExpressions;

namespace Federated.Audit;

/// <summary>
/// The label-DP cost as the music party's train summary states it: <c>ε 70.68 (δ 1e-5)</c>, or <c>ε - (δ -)</c> when
/// label DP is off. Read by the job audit report and the coordinator's privacy ledger.
/// </summary>
public static partial class PrivacySummary
{
    [GeneratedRegex(@"ε (?<epsilon>[0-9][0-9.eE+\-]*|-) \(δ (?<delta>[0-9][0-9.eE+\-]*|-)\)")]
    internal static partial Regex Pattern();

    /// <summary>True when the summary states the cost; ε and δ are null for "-" (label DP off).</summary>
    public static bool TryParse(string? summary, out double? epsilon, out double? delta)
    {
        epsilon = delta = null;
        if (string.IsNullOrEmpty(summary)) return false;
        var match = Pattern().Match(summary);
        if (!match.Success) return false;
        epsilon = Number(match.Groups["epsilon"].Value);
        delta = Number(match.Groups["delta"].Value);
        return true;
    }

    private static double? Number(string text) =>
        text != "-" && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null;
}
