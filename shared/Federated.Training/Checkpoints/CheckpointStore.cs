using Federated.Core.Jobs;
using System.Globalization;

namespace Federated.Training.Checkpoints;

/// <summary>
/// One party's checkpoints of one job and round: <c>&lt;job folder&gt;/checkpoints/r&lt;round&gt;/step-&lt;n&gt;/</c>, each
/// written into a temporary folder and renamed into place, so a crash leaves either a whole checkpoint or none.
/// The newest <c>kept</c> are kept. Files stay inside the party's job folder.
/// </summary>
public sealed class CheckpointStore
{
    private const string Prefix = "step-";
    private readonly int _kept;

    public CheckpointStore(string jobFolder, RoundNumber round, int kept)
    {
        Root = Path.Combine(jobFolder, "checkpoints", $"r{round}");
        _kept = kept;
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>Steps with a complete checkpoint, ascending.</summary>
    public IReadOnlyList<ulong> AvailableSteps() =>
        Directory.GetDirectories(Root, Prefix + "*")
            .Select(Path.GetFileName)
            .Select(n => ulong.TryParse(n![Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? (ulong?)s : null)
            .Where(s => s is not null).Select(s => s!.Value).Order().ToArray();

    public string PathOf(ulong step) => Path.Combine(Root, $"{Prefix}{step:D8}");

    /// <summary>Writes a checkpoint through <paramref name="write"/> (given an empty folder) and publishes it atomically.</summary>
    public void Save(ulong step, Action<string> write)
    {
        var final = PathOf(step);
        if (Directory.Exists(final)) return; // the same step was already checkpointed (a resumed run passing it again)
        var temporary = final + ".tmp";
        if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        Directory.CreateDirectory(temporary);
        write(temporary);
        Directory.Move(temporary, final);
        foreach (var old in AvailableSteps().SkipLast(_kept)) Directory.Delete(PathOf(old), recursive: true);
    }
}
