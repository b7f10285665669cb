package io.panastor.api.daemon;

import io.panastor.api.cli.HostPort;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Prometheus's {@code /metrics} over HTTP (the Prometheus Java client's server), on its own
 * thread: a scrape runs the collectors, which ask the reactors for their counters by message.
 */
final class MetricsEndpoint implements AutoCloseable {
    private final HTTPServer server;
    private final ExecutorService executor;
    private final String host;

    private MetricsEndpoint(HTTPServer server, ExecutorService executor, String host) {
        this.server = server;
        this.executor = executor;
        this.host = host;
    }

    static MetricsEndpoint start(HostPort at, MultiCollector... collectors) {
        PrometheusRegistry registry = new PrometheusRegistry();
        for (MultiCollector c : collectors) {
            registry.register(c);
        }
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "metrics");
            t.setDaemon(true);
            return t;
        });
        try {
            HTTPServer s = HTTPServer.builder().hostname(at.host()).port(at.port()).registry(registry)
                    .executorService(executor).buildAndStart();
            return new MetricsEndpoint(s, executor, at.host());
        } catch (IOException | RuntimeException e) {
            executor.shutdownNow();
            throw new IllegalStateException("--metrics " + at + ": cannot listen: " + e, e);
        }
    }

    /** Where it listens, with the port the system chose when asked for 0. */
    InetSocketAddress address() {
        return new InetSocketAddress(host, server.getPort());
    }

    @Override
    public void close() {
        server.close();
        executor.shutdownNow();
    }
}
