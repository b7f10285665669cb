package io.panastor.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class PanastorTest {
    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        CommandLine cmd = Panastor.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return new Run(cmd.execute(args), out.toString(), err.toString());
    }

    @Test
    void unknownSubcommandIsAUsageErrorThatSaysSo() {
        Run r = run("frobnicate");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Unmatched argument").contains("frobnicate").contains("Try 'panastor --help'");
        assertThat(r.err()).doesNotContain("Usage:");
    }

    @Test
    void helpListsTheCommandsAsAnOptionAndAsASubcommand() {
        Run r = run("--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("Usage: panastor").contains("engine").contains("bdev").contains("discover");
        Run help = run("help", "bdev");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("Usage: panastor bdev").contains("share");
    }

    @Test
    void aGroupWithoutItsSubcommandNamesThem() {
        Run r = run("bdev");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("bdev needs a subcommand: create, list, share, unshare, destroy");
    }

    @Test
    void versionNamesTheVersionAndTheCommit() {
        Run r = run("--version");
        assertThat(r.code()).isZero();
        assertThat(r.out().lines().findFirst().orElseThrow()).matches("panastor \\S+ \\(commit \\S+\\)");
        assertThat(BuildInfo.current().commit()).isNotBlank();
    }

    @Test
    void aBadLogLevelNamesTheOptionAndTheValueOnEveryCommand() {
        for (String[] args : new String[][] {{"--log-level", "loud"}, {"bdev", "list", "--log-level", "loud"},
                {"engine", "--log-level=loud"}}) {
            Run r = run(args);
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("--log-level").contains("loud");
        }
    }

    @Test
    void coresTakeACountOrAList() {
        java.util.List<Integer> allowed = java.util.List.of(0, 1, 2, 3);
        assertThat(Cores.parse("2", allowed)).containsExactly(0, 1);
        assertThat(Cores.parse("1,3", allowed)).containsExactly(1, 3);
        assertThat(Cores.parse("1-3", allowed)).containsExactly(1, 2, 3);
        assertThat(Cores.parse("[3]", allowed)).containsExactly(3);
        for (String bad : new String[] {"0", "5", "[7]", "a", "3-1", "1,,2"}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Cores.parse(bad, allowed))
                    .as(bad).hasMessageContaining("--cores " + bad);
        }
    }

    @Test
    void addressesNameTheOptionAndTheValue() {
        assertThat(HostPort.parse("--grpc", ":10124", "0.0.0.0")).isEqualTo(new HostPort("0.0.0.0", 10124));
        assertThat(HostPort.parse("--grpc", "[::1]:10124", "0.0.0.0")).isEqualTo(new HostPort("::1", 10124));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HostPort.parse("--grpc", "host:99999", "0.0.0.0"))
                .hasMessageContaining("--grpc").hasMessageContaining("99999");
        Run r = run("engine", "--grpc", "localhost:port");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--grpc").contains("localhost:port");
    }
}
