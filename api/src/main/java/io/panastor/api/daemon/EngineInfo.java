package io.panastor.api.daemon;

import java.net.InetSocketAddress;

/**
 * What HostRpc reports about the engine beside the Engine itself: its node, its listeners as
 * started, and (once it is up) the daemon, for its gRPC endpoint and uptime.
 */
public final class EngineInfo {
    private final String nodeName;
    private final InetSocketAddress replicas;
    private final InetSocketAddress nexus;
    private final String advertised;
    private volatile EngineDaemon daemon;

    EngineInfo(String nodeName, InetSocketAddress replicas, InetSocketAddress nexus, String advertised) {
        this.nodeName = nodeName;
        this.replicas = replicas;
        this.nexus = nexus;
        this.advertised = advertised;
    }

    void bind(EngineDaemon d) {
        this.daemon = d;
    }

    public String nodeName() {
        return nodeName;
    }

    public InetSocketAddress replicaListener() {
        return replicas;
    }

    public InetSocketAddress nexusListener() {
        return nexus;
    }

    /** The replica listener as hosts reach it ({@code host:port}), the address in share URIs. */
    public String advertised() {
        return advertised;
    }

    public String grpcEndpoint() {
        EngineDaemon d = daemon;
        return d == null ? "" : d.grpcAddress().getAddress().getHostAddress() + ":" + d.grpcAddress().getPort();
    }

    public long uptimeMillis() {
        EngineDaemon d = daemon;
        return d == null ? 0 : d.uptimeMillis();
    }
}
