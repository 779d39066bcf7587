// The external party host: its user features never leave this process.
return await Federated.PartyJobs.PartyHost.RunAsync(args, "external", Federated.Security.PartyRole.External);
