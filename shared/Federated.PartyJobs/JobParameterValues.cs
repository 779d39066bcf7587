using System.Globalization;

namespace Federated.PartyJobs;

/// <summary>Reads a job's string parameters; errors name the job kind, the parameter and what it allows.</summary>
internal static class JobParameterValues
{
    /// <summary>The trimmed value, or null when absent or blank.</summary>
    public static string? Get(IReadOnlyDictionary<string, string> p, string name) =>
        p.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

    /// <summary>An integer in [min, max], or the default when absent.</summary>
    public static int Int(string kind, IReadOnlyDictionary<string, string> p, string name, int defaultValue, int min, int max)
    {
        if (Get(p, name) is not { } text) return defaultValue;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new ArgumentException($"{kind} job parameter '{name}' = '{text}' must be an integer between {min} and {max}");
        return value;
    }
}
