// Fuzzing the readers and message handlers that take bytes from outside a party.
//   fuzz TARGET                 under AFL++ (afl-fuzz ... -- dotnet Federated.Fuzz.dll fuzz TARGET), see tests/fuzz/README.md
//   smoke TARGET|all [--seconds S] [--corpus DIR] [--findings DIR] [--seed N]
//                               in-process mutational run over the corpus (the CI smoke run); exit 1 on a finding
//   replay TARGET FILE...       run inputs once and print what each did
//   corpus DIR                  write the seed corpus (valid inputs made by the product code) under DIR/<target>/
using Federated.Fuzz;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Federated.Fuzz fuzz|smoke|replay|corpus ...; targets: " + string.Join(", ", FuzzTargets.All.Select(t => t.Name)));
    return 2;
}
try
{
    switch (args[0])
    {
        case "fuzz" when args.Length == 2:
        {
            var target = FuzzTargets.Get(args[1]);
            SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
            {
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                try { target.Run(buffer.ToArray()); }
                catch (Exception e) when (target.IsRefusal(e)) { }
            });
            return 0;
        }
        case "smoke":
            return SmokeRunner.Run(args[1..], Console.Out);
        case "replay" when args.Length >= 3:
        {
            var target = FuzzTargets.Get(args[1]);
            int findings = 0;
            foreach (var file in args[2..])
            {
                try { target.Run(File.ReadAllBytes(file)); Console.WriteLine($"{file}: accepted"); }
                catch (Exception e) when (target.IsRefusal(e)) { Console.WriteLine($"{file}: refused ({e.GetType().Name}: {e.Message})"); }
                catch (Exception e) { findings++; Console.WriteLine($"{file}: FINDING {e}"); }
            }
            return findings == 0 ? 0 : 1;
        }
        case "corpus" when args.Length == 2:
            SeedCorpus.Write(args[1], Console.Out);
            return 0;
        default:
            Console.Error.WriteLine($"unknown command line '{string.Join(' ', args)}'");
            return 2;
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
