package io.panastor.api.client;

import io.panastor.api.cli.Panastor;
import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** One run of the command line in this process: exit code, stdout, stderr. */
public record CliRun(int code, String out, String err) {
    public static CliRun of(String... args) {
        CommandLine cmd = Panastor.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new CliRun(code, out.toString(), err.toString());
    }

    /** Stdout's lines. */
    public java.util.List<String> lines() {
        return out.lines().toList();
    }
}
