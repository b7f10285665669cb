package io.panastor.control.cli;

import io.panastor.api.cli.SubcommandProvider;

/** Registers the control plane and its commands with the panastor executable. */
public final class ControlSubcommands {
    private ControlSubcommands() {
    }

    /** {@code control-plane}. */
    public static final class Server implements SubcommandProvider {
        @Override
        public Object command() {
            return new ControlPlaneCommand();
        }
    }

    /** {@code node}. */
    public static final class Nodes implements SubcommandProvider {
        @Override
        public Object command() {
            return new NodeCommand();
        }
    }

    /** {@code diskpool}. */
    public static final class DiskPools implements SubcommandProvider {
        @Override
        public Object command() {
            return new DiskPoolCommand();
        }
    }

    /** {@code volume}. */
    public static final class Volumes implements SubcommandProvider {
        @Override
        public Object command() {
            return new VolumeCommand();
        }
    }
}
