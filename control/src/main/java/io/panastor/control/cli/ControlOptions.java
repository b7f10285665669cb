package io.panastor.control.cli;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.panastor.api.cli.HostPort;
import io.panastor.control.ControlPlane;
import picocli.CommandLine.Option;

/** How a command reaches the control plane, and how it prints: a picocli mixin. */
public final class ControlOptions {
    public static final String DEFAULT_CONTROL_PLANE = "127.0.0.1:" + ControlPlane.DEFAULT_PORT;

    /** Output formats. */
    public enum Format { table, json, yaml }

    @Option(names = "--control-plane", paramLabel = "HOST:PORT",
            description = "The control plane's gRPC address. Default: ${DEFAULT-VALUE}",
            defaultValue = DEFAULT_CONTROL_PLANE, converter = HostPort.Loopback.class)
    HostPort controlPlane;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
            description = "Output: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}", defaultValue = "table")
    Format output;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
            description = "How long to wait for the answer. Default: ${DEFAULT-VALUE}")
    long timeoutSeconds;

    ManagedChannel channel() {
        return NettyChannelBuilder.forAddress(controlPlane.host(), controlPlane.port()).usePlaintext().build();
    }
}
