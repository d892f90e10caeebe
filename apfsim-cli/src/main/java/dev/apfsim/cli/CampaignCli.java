package dev.apfsim.cli;

import dev.apfsim.campaign.CampaignEngine;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code sweep} and {@code check} with another engine computing their rows: apfsim-spark runs this with its Spark
 * engine, so a cluster campaign takes exactly the options, checks and messages of the local one.
 */
public final class CampaignCli {
    private CampaignCli() {
    }

    /** The command line {@code name sweep|check ...} whose campaigns {@code engine} runs. */
    public static CommandLine commandLine(String name, CampaignEngine engine) {
        CommandLine cmd = new CommandLine(new Root());
        cmd.setCommandName(name);
        cmd.addSubcommand("sweep", new SweepCommand(engine));
        cmd.addSubcommand("check", new CheckCommand(engine));
        cmd.addSubcommand("help", new CommandLine.HelpCommand());
        cmd.setCaseInsensitiveEnumValuesAllowed(true);
        cmd.setParameterExceptionHandler(new Main.UsageErrors());
        cmd.setExecutionExceptionHandler(new Main.Failures());
        return cmd;
    }

    /** Runs {@code args} and returns the exit status (as {@code apfsim} has it). */
    public static int execute(String name, CampaignEngine engine, String... args) {
        return commandLine(name, engine).execute(args);
    }

    @Command(mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
            description = "apfsim campaigns (sweep, check --rows) with their rows computed by a cluster engine.")
    static final class Root implements Runnable {
        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            throw new ParameterException(spec.commandLine(), "missing command (sweep or check)");
        }
    }
}
