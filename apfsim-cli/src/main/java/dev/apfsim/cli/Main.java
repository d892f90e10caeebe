package dev.apfsim.cli;

import dev.apfsim.scenario.ScenarioException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.io.UncheckedIOException;

/** The {@code apfsim} command: run, compare, scenarios. */
@Command(name = "apfsim", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Deterministic simulator of KVM asynchronous page faults.",
        subcommands = {RunCommand.class, CompareCommand.class, CheckCommand.class, SweepCommand.class,
                MergeCommand.class, ScenariosCommand.class, ConformCommand.class,
                CommandLine.HelpCommand.class},
        synopsisSubcommandLabel = "COMMAND",
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
                "0:normal end, whatever the outcome of the run (a guest panic, a stopped VM or a suspected "
                        + "livelock is a result, not an error)",
                "1:check found an invariant violation; conform found a difference",
                "2:bad input: unknown option or scenario, bad option value, invalid scenario file, a run too "
                        + "large for the Java heap",
                "3:conform: no usable KVM on this host",
                "70:internal error (a bug in apfsim; the stack trace is printed)",
                "74:I/O error while writing an output file (a trace, a campaign's rows; e.g. disk full)"})
public final class Main implements Runnable {
    /** Exit status for bad input (picocli's usage error status). */
    public static final int EXIT_USAGE = CommandLine.ExitCode.USAGE;
    /** sysexits.h EX_SOFTWARE. */
    public static final int EXIT_INTERNAL = 70;
    /** sysexits.h EX_IOERR. */
    public static final int EXIT_IO = 74;

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        int status;
        try {
            status = commandLine().execute(args);
        } catch (OutOfMemoryError e) {
            // the run's objects are unreachable once it unwound: there is room to say so, in one line
            System.err.println("apfsim: " + HeapCheck.outOfMemory(Runtime.getRuntime().maxMemory()));
            status = EXIT_USAGE;
        } catch (Throwable t) { // errors picocli lets through (StackOverflowError)
            System.err.println("apfsim: internal error: " + t);
            t.printStackTrace();
            status = EXIT_INTERNAL;
        }
        System.out.flush();
        System.exit(status);
    }

    /** A fully configured command line (exit codes, error handling); tests call {@code execute} on it. */
    public static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new Main());
        cmd.setCaseInsensitiveEnumValuesAllowed(true);
        cmd.setParameterExceptionHandler(new UsageErrors());
        cmd.setExecutionExceptionHandler(new Failures());
        return cmd;
    }

    @Override
    public void run() {
        // no subcommand: show the overview
        throw new ParameterException(spec.commandLine(), "missing command (run, compare, check, sweep, merge, scenarios or conform)");
    }

    /** Bad input found while executing (not parsing): message printed as is, exit 2. */
    static final class UserException extends RuntimeException {
        UserException(String message) {
            super(message);
        }
    }

    /** Short usage errors: the message and a hint, not the whole usage text. */
    static final class UsageErrors implements IParameterExceptionHandler {
        @Override
        public int handleParseException(ParameterException ex, String[] args) {
            CommandLine cmd = ex.getCommandLine();
            PrintWriter err = cmd.getErr();
            String name = cmd.getCommandSpec().qualifiedName();
            err.println(name + ": " + oneLine(ex.getMessage()));
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
            err.println("Try '" + name + " --help' for more information.");
            err.flush();
            return EXIT_USAGE;
        }
    }

    /** Maps what a command throws to a message and an exit status. */
    static final class Failures implements IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
            PrintWriter err = cmd.getErr();
            int status;
            if (HeapCheck.isOutOfMemory(ex)) { // in a worker thread of check, compare or sweep
                err.println("apfsim: " + HeapCheck.outOfMemory(Runtime.getRuntime().maxMemory()));
                err.flush();
                return EXIT_USAGE;
            }
            switch (ex) {
                case ScenarioException se -> {
                    // compiler style "file:line:col: ..." so editors can jump to it; already one line
                    err.println(se.getMessage());
                    status = EXIT_USAGE;
                }
                case UserException ue -> {
                    err.println("apfsim: " + oneLine(ue.getMessage()));
                    status = EXIT_USAGE;
                }
                case TraceIoException io -> {
                    err.println("apfsim: " + oneLine(io.getMessage()));
                    status = EXIT_IO;
                }
                default -> {
                    err.println("apfsim: internal error: " + oneLine(String.valueOf(ex)));
                    ex.printStackTrace(err);
                    status = EXIT_INTERNAL;
                }
            }
            err.flush();
            return status;
        }
    }

    /** An output file (trace, campaign rows) could not be written (disk full, ...): exit 74 without a stack trace. */
    static final class TraceIoException extends RuntimeException {
        TraceIoException(UncheckedIOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    static String oneLine(String s) {
        return s == null ? "" : s.strip().replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"apfsim " + (v == null ? "(development build)" : v),
                    "Java ${java.version} (${java.vendor} ${java.vm.name})"};
        }
    }
}
