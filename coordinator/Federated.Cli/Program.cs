using System.CommandLine;
using Federated.Cli.Commands;
using Federated.Operator;

var common = new CommonOptions();
var root = new RootCommand("fedctl: operate a Federated federation (coordinator, music party, external party)");
common.AddTo(root);
root.Subcommands.Add(CertsCommands.Create(common));
root.Subcommands.Add(PartiesCommands.Create(common));
root.Subcommands.Add(JobsCommands.Create(common));
root.Subcommands.Add(AuditCommands.Create(common));
root.Subcommands.Add(ModelsCommands.Create(common));
return await ConsoleTool.RunAsync(root, args);
