using Federated.Data.Rows;
using Federated.Data.Schema;

namespace Federated.Data.Reading;

/// <summary>One interaction, by role (the schema maps roles to the partner's own column names).</summary>
public readonly record struct Interaction(
    string User,
    string Song,
    DateTimeOffset? Time,
    bool? Play,
    bool? Skip,
    bool? Collect,
    double ListenRatio);

/// <summary>Reads interaction rows by role: user, song, and the optional time and label roles.</summary>
public static class Interactions
{
    /// <summary>Projects validated rows of an interactions table onto <see cref="Interaction"/> (streaming).</summary>
    public static IEnumerable<Interaction> Project(IEnumerable<DataRow> rows)
    {
        int user = -1, song = -1, time = -1, play = -1, skip = -1, collect = -1, ratio = -1;
        foreach (var row in rows)
        {
            if (user < 0)
            {
                var s = row.Schema;
                user = s.RoleIndex(InteractionRoles.User);
                song = s.RoleIndex(InteractionRoles.Song);
                if (user < 0 || song < 0) throw new SchemaException($"table '{s.Table}' names no user or song role");
                time = s.RoleIndex(InteractionRoles.Time);
                play = s.RoleIndex(InteractionRoles.Play);
                skip = s.RoleIndex(InteractionRoles.Skip);
                collect = s.RoleIndex(InteractionRoles.Collect);
                ratio = s.RoleIndex(InteractionRoles.ListenRatio);
            }

            yield return new Interaction(
                row.GetText(user)!,
                row.GetText(song)!,
                time >= 0 ? row.GetTimestamp(time) : null,
                play >= 0 ? row.GetFlag(play) : null,
                skip >= 0 ? row.GetFlag(skip) : null,
                collect >= 0 ? row.GetFlag(collect) : null,
                ratio >= 0 ? row.GetNumber(ratio) : double.NaN);
        }
    }
}
