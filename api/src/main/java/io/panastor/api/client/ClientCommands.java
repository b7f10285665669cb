package io.panastor.api.client;

import java.util.List;
import picocli.CommandLine;

/** The commands that talk to a running engine, for the top-level command line. */
public final class ClientCommands {
    private ClientCommands() {
    }

    public static List<CommandLine> all() {
        return List.of(new CommandLine(new BdevCommand()), new CommandLine(new PoolCommand()),
                new CommandLine(new ReplicaCommand()), new CommandLine(new NexusCommand()),
                new CommandLine(new RebuildCommand()),
                new CommandLine(new HostCommand()),
                new CommandLine(new StatsCommand()), new CommandLine(new DiscoverCommand()));
    }
}
