using System.Globalization;
using System.Net;
using System.Text;
using Federated.Audit;

namespace Federated.Coordinator.Dashboard;

/// <summary>
/// The job report's plots as SVG, drawn here from the job's audit records (sizes and times of relayed messages only):
/// sealed bytes per message type and direction, and cumulative bytes over time per direction.
/// </summary>
public static class DashboardCharts
{
    private const int Width = 640;
    private static readonly string[] Colours = ["#2f6db5", "#d9822b", "#3a9e5c", "#a33ea1", "#c23b3b", "#6b7b8c"];

    public static string Traffic(AuditTraffic traffic)
    {
        ArgumentNullException.ThrowIfNull(traffic);
        var rows = traffic.ByType;
        const int bar = 18, gap = 6, left = 210, top = 30;
        var height = top + rows.Count * (bar + gap) + 30;
        var max = Math.Max(1, rows.Count == 0 ? 1 : rows.Max(r => r.Bytes));
        var svg = Start(height, "Sealed bytes per message type");
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            var y = top + i * (bar + gap);
            var w = Math.Max(1.0, (Width - left - 90) * (double)r.Bytes / max);
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 6}\" y=\"{y + 13}\" text-anchor=\"end\" font-size=\"11\">{Escape(r.Direction)} {Escape(r.MessageType)}</text>");
            svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar\" x=\"{left}\" y=\"{y}\" width=\"{w:0.#}\" height=\"{bar}\" fill=\"{Colours[i % Colours.Length]}\"><title>{r.Messages} messages, {r.Bytes} bytes</title></rect>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + w + 4:0.#}\" y=\"{y + 13}\" font-size=\"11\">{Bytes(r.Bytes)} ({r.Messages})</text>");
        }
        return svg.Append("</svg>").ToString();
    }

    public static string Timeline(IReadOnlyList<AuditRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var relayed = records.Where(r => r.Entry.Kind == AuditEntry.RelayKind).ToList();
        const int height = 260, left = 60, right = 20, top = 30, bottom = 40;
        var svg = Start(height, "Cumulative sealed bytes over time");
        if (relayed.Count == 0)
            return svg.Append("<text x=\"20\" y=\"60\">no relayed messages</text></svg>").ToString();
        var t0 = relayed[0].Time;
        var span = Math.Max(0.001, (relayed[^1].Time - t0).TotalSeconds);
        var directions = relayed.GroupBy(r => $"{r.Entry.Sender}->{r.Entry.Receiver}").ToList();
        var maxBytes = Math.Max(1, directions.Max(d => d.Sum(r => r.Entry.PayloadBytes ?? 0)));
        double X(DateTimeOffset t) => left + (Width - left - right) * (t - t0).TotalSeconds / span;
        double Y(long b) => height - bottom - (height - top - bottom) * (double)b / maxBytes;
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{Width - right}\" y2=\"{height - bottom}\" stroke=\"#888\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"#888\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{height - bottom + 16}\" font-size=\"11\">0 s</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - right}\" y=\"{height - bottom + 16}\" font-size=\"11\" text-anchor=\"end\">{span:0.#} s</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 4}\" y=\"{top + 4}\" font-size=\"11\" text-anchor=\"end\">{Bytes(maxBytes)}</text>");
        for (var i = 0; i < directions.Count; i++)
        {
            long sum = 0;
            var points = new StringBuilder();
            foreach (var r in directions[i])
            {
                sum += r.Entry.PayloadBytes ?? 0;
                points.Append(CultureInfo.InvariantCulture, $"{X(r.Time):0.#},{Y(sum):0.#} ");
            }
            var colour = Colours[i % Colours.Length];
            svg.Append(CultureInfo.InvariantCulture, $"<polyline class=\"series\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{points.ToString().TrimEnd()}\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + 10 + i * 200}\" y=\"{height - 8}\" font-size=\"11\" fill=\"{colour}\">{Escape(directions[i].Key)}: {Bytes(sum)}</text>");
        }
        return svg.Append("</svg>").ToString();
    }

    private static StringBuilder Start(int height, string title) => new StringBuilder()
        .Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\">")
        .Append(CultureInfo.InvariantCulture, $"<title>{Escape(title)}</title><text x=\"10\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{Escape(title)}</text>");

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1 << 30 => (bytes / (double)(1 << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1 << 20 => (bytes / (double)(1 << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1 << 10 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
