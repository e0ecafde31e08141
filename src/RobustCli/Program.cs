using RobustCli;

return Cli.Build().Parse(args).Invoke();
