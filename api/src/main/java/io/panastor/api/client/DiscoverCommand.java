package io.panastor.api.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.panastor.api.cli.HostPort;
import io.panastor.engine.Engine;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.stats.DiscoveryEntry;
import io.panastor.reactor.CoreMode;
import io.panastor.reactor.Reactors;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code panastor discover HOST:PORT}: the discovery log of any NVMe/TCP target (Panastor's
 * or another), read by this process's own initiator; no engine needs to run.
 */
@Command(name = "discover", mixinStandardHelpOptions = true,
        description = "Print the discovery log of an NVMe/TCP target: the subsystems it offers this host, and where.")
public final class DiscoverCommand implements Callable<Integer> {
    @Parameters(paramLabel = "HOST:PORT", converter = HostPort.Loopback.class,
            description = "The target's discovery service; a bare port means this host")
    HostPort target;

    @Option(names = "--hostnqn", paramLabel = "NQN", description = "Host NQN to ask as. Default: Panastor's")
    String hostNqn;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10",
            description = "How long to wait for the target. Default: ${DEFAULT-VALUE}")
    long timeoutSeconds;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "table",
            description = "Output: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}")
    EngineOptions.Format output;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<DiscoveryEntry> entries;
        // One unpinned reactor that parks when idle: a short-lived client shares the machine.
        try (Engine e = Engine.start(Reactors.builder().count(1).pin(false).mode(CoreMode.SHARED))) {
            entries = Engine.await(e.discover(target.host(), target.port(), hostNqn, Duration.ofSeconds(timeoutSeconds)));
        } catch (EngineException ex) {
            spec.commandLine().getErr().println("panastor discover: " + ex.reason() + ": " + ex.getMessage());
            spec.commandLine().getErr().flush();
            return ex.reason() == EngineException.Reason.UNAVAILABLE ? ClientCommand.UNREACHABLE : ClientCommand.REFUSED;
        }
        if (output == EngineOptions.Format.json) {
            spec.commandLine().getOut().println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(entries));
        } else {
            Table t = new Table("SUBTYPE", "TRTYPE", "ADRFAM", "TRADDR", "TRSVCID", "PORTID", "SUBNQN");
            for (DiscoveryEntry d : entries) {
                t.row(d.subtype(), d.trtype(), d.adrfam(), d.traddr(), d.trsvcid(), d.portId(), d.subnqn());
            }
            t.print(spec.commandLine().getOut());
        }
        spec.commandLine().getOut().flush();
        return 0;
    }
}
