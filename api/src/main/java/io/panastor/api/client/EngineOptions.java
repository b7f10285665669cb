package io.panastor.api.client;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.panastor.api.cli.HostPort;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Option;

/** How a client command reaches a running engine, and how it prints: a picocli mixin. */
public final class EngineOptions {
    /** Default gRPC address of an engine, as Mayastor's io-engine. */
    public static final String DEFAULT_ENGINE = "127.0.0.1:10124";

    /** Output formats. */
    public enum Format { table, json }

    @Option(names = "--engine", paramLabel = "HOST:PORT", description = "Engine's gRPC address. Default: ${DEFAULT-VALUE}",
            defaultValue = DEFAULT_ENGINE, converter = HostPort.Loopback.class)
    HostPort engine;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
            description = "Output: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}", defaultValue = "table")
    Format output;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "How long to wait for the engine's answer. Default: ${DEFAULT-VALUE}")
    long timeoutSeconds;

    boolean json() {
        return output == Format.json;
    }

    ManagedChannel channel() {
        HostPort a = engine;
        return NettyChannelBuilder.forAddress(a.host(), a.port()).usePlaintext().build();
    }

    static void close(ManagedChannel ch) {
        ch.shutdownNow();
        try {
            ch.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
