package io.panastor.api.cli;

import io.panastor.api.daemon.EngineCommand;
import java.util.Locale;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code panastor} executable: one binary whose subcommands run the engine, talk to a
 * running engine, benchmark, and demonstrate. Control path only.
 */
@Command(name = "panastor", mixinStandardHelpOptions = true, versionProvider = Panastor.Version.class,
        description = "NVMe-over-TCP block storage for Kubernetes, with a user-space data plane in Java.",
        subcommandsRepeatable = false)
public final class Panastor implements Runnable {
    /** The property slf4j-simple reads its level from, once, when the first logger is made. */
    static final String LOG_LEVEL_PROPERTY = "org.slf4j.simpleLogger.defaultLogLevel";

    /** Log levels, as {@code --log-level} takes them. */
    public enum LogLevel { error, warn, info, debug, trace }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--log-level", scope = ScopeType.INHERIT, paramLabel = "LEVEL",
            description = "Log level on stderr: ${COMPLETION-CANDIDATES}. Default: info")
    LogLevel logLevel;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (for tests). */
    public static int run(String... args) {
        applyLogLevel(args);
        CommandLine cmd = commandLine();
        try {
            EngineCommand.applyConfigFile(cmd.getSubcommands().get("engine"), args);
        } catch (CommandLine.ParameterException e) {
            cmd.getErr().println(cmd.getColorScheme().errorText("panastor engine: " + e.getMessage()));
            return 2;
        }
        return cmd.execute(args);
    }

    /**
     * Sets the log level from {@code --log-level} before anything logs: slf4j-simple reads it
     * once. A bad value is left for picocli to report.
     */
    static void applyLogLevel(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String v = args[i].startsWith("--log-level=") ? args[i].substring("--log-level=".length())
                    : args[i].equals("--log-level") && i + 1 < args.length ? args[i + 1] : null;
            if (v != null) {
                try {
                    System.setProperty(LOG_LEVEL_PROPERTY, LogLevel.valueOf(v.toLowerCase(Locale.ROOT)).name());
                } catch (IllegalArgumentException e) {
                    // picocli names the option and the value
                }
            }
        }
    }

    public static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new Panastor());
        cmd.addSubcommand(new CommandLine.HelpCommand());
        cmd.addSubcommand(new EngineCommand());
        cmd.addSubcommand(new io.panastor.api.serve.ServeCommand());
        for (CommandLine c : io.panastor.api.client.ClientCommands.all()) {
            cmd.addSubcommand(c);
        }
        for (SubcommandProvider p : ServiceLoader.load(SubcommandProvider.class, Panastor.class.getClassLoader())) {
            cmd.addSubcommand(p.command());
        }
        cmd.setCaseInsensitiveEnumValuesAllowed(true);
        // A usage error is the error and where to read more, not the whole usage after it.
        cmd.setParameterExceptionHandler((e, args) -> {
            CommandLine line = e.getCommandLine();
            line.getErr().println(line.getColorScheme().errorText(e.getMessage()));
            CommandLine.UnmatchedArgumentException.printSuggestions(e, line.getErr());
            line.getErr().println("Try '" + line.getCommandSpec().qualifiedName() + " --help' for its options.");
            line.getErr().flush();
            return 2;
        });
        cmd.setExecutionExceptionHandler((e, line, parseResult) -> {
            Throwable t = e;
            while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
                t = t.getCause();
            }
            String name = line.getCommandSpec().qualifiedName();
            line.getErr().println(line.getColorScheme().errorText(name + ": " + message(t)));
            return 1;
        });
        return cmd;
    }

    /** One line for a failure: its message, or its kind when it has none. */
    static String message(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The version and commit recorded at build time. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            BuildInfo b = BuildInfo.current();
            return new String[] {"panastor " + b.version() + " (commit " + b.commit() + ")",
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}
