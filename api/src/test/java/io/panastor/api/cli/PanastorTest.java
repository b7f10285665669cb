package io.panastor.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class PanastorTest {

    @Test
    void unknownSubcommandIsAUsageErrorThatSaysSo() {
        CommandLine cmd = Panastor.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err));
        assertThat(cmd.execute("frobnicate")).isEqualTo(2);
        assertThat(err.toString()).contains("Unmatched argument").contains("frobnicate");
    }

    @Test
    void helpListsTheCommand() {
        CommandLine cmd = Panastor.commandLine();
        StringWriter out = new StringWriter();
        cmd.setOut(new PrintWriter(out));
        assertThat(cmd.execute("--help")).isZero();
        assertThat(out.toString()).contains("Usage: panastor");
    }
}
