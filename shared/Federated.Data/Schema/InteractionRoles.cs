namespace Federated.Data.Schema;

/// <summary>Role names a schema maps to its own columns, so that code never depends on a partner's column names.</summary>
public static class InteractionRoles
{
    public const string User = "user";
    public const string Song = "song";
    public const string Time = "time";
    public const string Play = "play";
    public const string Skip = "skip";
    public const string Collect = "collect";
    public const string ListenRatio = "listenRatio";

    /// <summary>The column kind a known role requires, or null for free-form roles.</summary>
    public static ColumnKind? ExpectedKind(string role) => role switch
    {
        User or Song => ColumnKind.Id,
        Time => ColumnKind.Timestamp,
        Play or Skip or Collect => ColumnKind.Flag,
        ListenRatio => ColumnKind.Numeric,
        _ => null,
    };
}
