using System.CommandLine;
using Federated.Local.Commands;
using Federated.Operator;

var root = new RootCommand("fedlocal: a whole Federated federation on this machine (demo, benchmarks, a local federation for fedctl)");
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(FederationCommands.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
return await ConsoleTool.RunAsync(root, args);
