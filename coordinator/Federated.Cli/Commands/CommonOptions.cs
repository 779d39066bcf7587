using System.CommandLine;
using Federated.Operator;

namespace Federated.Cli.Commands;

/// <summary>Options shared by the commands that talk to a coordinator or use a run folder.</summary>
public sealed class CommonOptions
{
    public Option<string> RunDirectory { get; } = new("--run-dir")
    {
        Description = "Run folder of a local federation (certificates, data, logs, pid files)",
        DefaultValueFactory = _ => RunFolder.Default(typeof(CommonOptions).Assembly).Root,
        Recursive = true,
    };

    public Option<string?> Coordinator { get; } = new("--coordinator")
    {
        Description = "Coordinator address (https://host:port); default: the local federation's",
        Recursive = true,
    };

    public Option<string?> Certificates { get; } = new("--certs")
    {
        Description = "Certificate folder with ca.crt.pem and the operator's certificate; default: <run-dir>/certs",
        Recursive = true,
    };

    public Option<string> Identity { get; } = new("--identity")
    {
        Description = "Name of the operator certificate in the certificate folder",
        DefaultValueFactory = _ => "operator",
        Recursive = true,
    };

    public void AddTo(RootCommand root)
    {
        root.Options.Add(RunDirectory);
        root.Options.Add(Coordinator);
        root.Options.Add(Certificates);
        root.Options.Add(Identity);
    }

    public RunFolder Run(ParseResult result) => new(Path.GetFullPath(result.GetValue(RunDirectory)!));

    public Federated.Transport.Client.CoordinatorConnection Connect(ParseResult result) =>
        OperatorConnection.Open(result.GetValue(Coordinator), result.GetValue(Certificates), result.GetValue(Identity)!, Run(result));
}
