using System.Collections.Concurrent;

namespace Federated.Hosting.Metrics;

/// <summary>
/// A metric label whose values come from the federation's own vocabulary (message types, job kinds, party ids) but
/// reach the host from a peer: a value is kept as it is while it looks like an identifier and fewer than
/// <see cref="MaxValues"/> distinct values were seen; anything else is reported as <c>other</c>, so no caller can
/// grow the series without bound or put free text into a label.
/// </summary>
public sealed class MetricLabels(int maxValues = MetricLabels.MaxValues)
{
    public const int MaxValues = 64;
    public const string Other = "other";

    private readonly ConcurrentDictionary<string, byte> _seen = new(StringComparer.Ordinal);

    public string Of(string value)
    {
        if (value.Length is 0 or > 64 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            return Other;
        if (_seen.ContainsKey(value))
            return value;
        lock (_seen)
        {
            if (_seen.Count >= maxValues)
                return Other;
            _seen.TryAdd(value, 0);
            return value;
        }
    }
}
