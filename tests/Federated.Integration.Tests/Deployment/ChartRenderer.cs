using System.Text;
using System.Text.RegularExpressions;

namespace Federated.Integration.Tests.Deployment;

/// <summary>
/// Renders the subset of Helm's template language the chart uses, and refuses everything else: value paths
/// (<c>.Values.a.b</c>, <c>.Release.Name</c>, <c>.Chart.Name</c>, <c>$.…</c> inside a range), <c>range</c> over a list
/// (with <c>$index, $item :=</c> or the item as <c>.</c>), <c>end</c>, whitespace trimming (<c>{{-</c>, <c>-}}</c>) and the
/// functions <c>quote</c>, <c>b64enc</c> and <c>add1</c>. It is not Helm: no sprig library, no <c>if</c>, no includes, no
/// schema; an action outside this subset throws, so a chart that grows beyond it fails the test instead of passing
/// unchecked.
/// </summary>
public sealed partial class ChartRenderer(IReadOnlyDictionary<string, object?> root)
{
    [GeneratedRegex(@"\{\{(-?)\s*(.*?)\s*(-?)\}\}", RegexOptions.Singleline)]
    private static partial Regex Action();

    [GeneratedRegex(@"^range\s+(?:(\$\w+)\s*,\s*(\$\w+)\s*:=\s*)?(.+)$")]
    private static partial Regex Range();

    private sealed record Token(string? Text, string? Action);

    public string Render(string template)
    {
        var tokens = new List<Token>();
        var at = 0;
        foreach (Match m in Action().Matches(template))
        {
            var text = template[at..m.Index];
            if (m.Groups[1].Value == "-") text = text.TrimEnd();
            tokens.Add(new Token(text, null));
            tokens.Add(new Token(null, m.Groups[2].Value));
            at = m.Index + m.Length;
            if (m.Groups[3].Value == "-")
                while (at < template.Length && char.IsWhiteSpace(template[at])) at++;
        }
        tokens.Add(new Token(template[at..], null));
        var output = new StringBuilder();
        var position = 0;
        Emit(tokens, ref position, new Scope(root, null, new Dictionary<string, object?>()), output, topLevel: true);
        return output.ToString();
    }

    private sealed record Scope(object? Root, object? Dot, IReadOnlyDictionary<string, object?> Variables);

    private void Emit(List<Token> tokens, ref int position, Scope scope, StringBuilder output, bool topLevel)
    {
        while (position < tokens.Count)
        {
            var token = tokens[position++];
            if (token.Text is { } text)
            {
                output.Append(text);
                continue;
            }
            var action = token.Action!;
            if (action == "end")
            {
                if (topLevel) throw new FormatException("'end' without 'range'");
                return;
            }
            if (Range().Match(action) is { Success: true } range)
            {
                var items = Evaluate(range.Groups[3].Value, scope) as IList<object?>
                    ?? throw new FormatException($"range over something that is not a list: {action}");
                var bodyStart = position;
                if (items.Count == 0)
                {
                    Skip(tokens, ref position);
                    continue;
                }
                for (var i = 0; i < items.Count; i++)
                {
                    position = bodyStart;
                    var variables = new Dictionary<string, object?>(scope.Variables);
                    if (range.Groups[1].Success)
                    {
                        variables[range.Groups[1].Value] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                        variables[range.Groups[2].Value] = items[i];
                    }
                    Emit(tokens, ref position, scope with { Dot = items[i], Variables = variables }, output, topLevel: false);
                }
                continue;
            }
            output.Append(Evaluate(action, scope) switch
            {
                null => "",
                string s => s,
                var other => throw new FormatException($"'{action}' is not a scalar ({other.GetType().Name})"),
            });
        }
        if (!topLevel) throw new FormatException("'range' without 'end'");
    }

    private static void Skip(List<Token> tokens, ref int position)
    {
        for (var depth = 1; position < tokens.Count; position++)
        {
            var action = tokens[position].Action;
            if (action is null) continue;
            if (action.StartsWith("range ", StringComparison.Ordinal)) depth++;
            else if (action == "end" && --depth == 0) { position++; return; }
        }
        throw new FormatException("'range' without 'end'");
    }

    private static object? Evaluate(string pipeline, Scope scope)
    {
        var stages = pipeline.Split('|', StringSplitOptions.TrimEntries);
        var value = Term(stages[0], scope);
        foreach (var function in stages.Skip(1))
        {
            value = function switch
            {
                "quote" => "\"" + Scalar(value).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
                "b64enc" => Convert.ToBase64String(Encoding.UTF8.GetBytes(Scalar(value))),
                _ => throw new FormatException($"function '{function}' is not supported by this renderer"),
            };
        }
        return value;
    }

    private static object? Term(string term, Scope scope)
    {
        var words = term.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words is ["add1", var argument])
            return (int.Parse(Scalar(Term(argument, scope)), System.Globalization.CultureInfo.InvariantCulture) + 1)
                .ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (words.Length != 1)
            throw new FormatException($"'{term}' is not supported by this renderer");
        object? start;
        string path;
        if (term.StartsWith("$.", StringComparison.Ordinal)) (start, path) = (scope.Root, term[2..]);
        else if (term.StartsWith('$'))
        {
            var dot = term.IndexOf('.', StringComparison.Ordinal);
            var name = dot < 0 ? term : term[..dot];
            if (!scope.Variables.TryGetValue(name, out start))
                throw new FormatException($"variable '{name}' is not defined");
            path = dot < 0 ? "" : term[(dot + 1)..];
        }
        else if (term.StartsWith('.')) (start, path) = (scope.Dot ?? scope.Root, term[1..]);
        else throw new FormatException($"'{term}' is not supported by this renderer");
        var value = start;
        foreach (var key in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            value = value is IReadOnlyDictionary<string, object?> map && map.TryGetValue(key, out var next)
                ? next
                : throw new FormatException($"'{term}': no value '{key}'");
        }
        return value;
    }

    private static string Scalar(object? value) => value switch
    {
        null => "",
        string s => s,
        _ => throw new FormatException($"a {value.GetType().Name} is not a scalar"),
    };
}
