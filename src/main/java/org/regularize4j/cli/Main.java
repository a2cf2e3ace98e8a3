package org.regularize4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The regularize4j command line: {@code java -cp <runtime classpath> org.regularize4j.cli.Main <command>}.
 * No JVM flags are needed; the console logging configuration is selected here unless the user chose one.
 *
 * <pre>{@code
 * int exitCode = Main.run("quickstart", "--epochs", "5");
 * }</pre>
 */
@Command(name = "regularize4j", mixinStandardHelpOptions = true, version = "regularize4j 0.1.0",
        description = "Stochastic depth, weight penalties and ResNets for Deeplearning4j.",
        subcommands = {TrainCommand.class, EvaluateCommand.class, CompareCommand.class, QuickstartCommand.class,
                BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Runs a command and exits the JVM with its exit code. */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command and returns its exit code (0 on success, 1 on an unreadable input file or a failed run, 2 on a usage error). */
    public static int run(String... args) {
        configureLogging();
        CommandLine cli = new CommandLine(new Main());
        // Our argument checks throw IllegalArgumentException naming the option's value and range: report
        // them as usage errors (message, exit code 2), not as crashes with a stack trace.
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof IllegalArgumentException) {
                commandLine.getErr().println("Invalid argument: " + e.getMessage());
                commandLine.usage(commandLine.getErr());
                return commandLine.getCommandSpec().exitCodeOnInvalidInput();
            }
            // Unreadable or damaged input files (the message names the file and the fault): no stack trace.
            if (e instanceof java.io.IOException || e instanceof java.io.UncheckedIOException) {
                commandLine.getErr().println("Error: " + e.getMessage());
                return commandLine.getCommandSpec().exitCodeOnExecutionException();
            }
            throw e;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing command");
    }

    /** Selects regularize4j's console logging (INFO, DL4J/ND4J at WARN) unless a configuration was given. */
    static void configureLogging() {
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", "regularize4j-logback.xml");
        }
    }
}
