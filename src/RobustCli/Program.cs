using RobustCli;

return Cli.Run(args);
