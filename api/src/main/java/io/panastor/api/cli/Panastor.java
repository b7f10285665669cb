package io.panastor.api.cli;

import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code panastor} executable: one binary whose subcommands run the engine, talk to a
 * running engine, benchmark, and demonstrate. Control path only.
 */
@Command(name = "panastor", mixinStandardHelpOptions = true, versionProvider = Panastor.Version.class,
        description = "NVMe-over-TCP block storage for Kubernetes, with a user-space data plane in Java.",
        subcommandsRepeatable = false)
public final class Panastor implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (for tests). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    public static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new Panastor());
        cmd.addSubcommand(new io.panastor.api.serve.ServeCommand());
        for (SubcommandProvider p : ServiceLoader.load(SubcommandProvider.class, Panastor.class.getClassLoader())) {
            cmd.addSubcommand(p.command());
        }
        cmd.setExecutionExceptionHandler((e, line, parseResult) -> {
            Throwable t = e;
            while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
                t = t.getCause();
            }
            line.getErr().println(line.getColorScheme().errorText("panastor: " + t.getMessage()));
            return 1;
        });
        return cmd;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The version recorded in the jar, or "development". */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Panastor.class.getPackage().getImplementationVersion();
            return new String[] {"panastor " + (v == null ? "development" : v),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}
