package io.panastor.control.k8s;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;

/**
 * fabric8's mock Kubernetes API server in CRUD mode (objects kept, resourceVersions counted,
 * watches served), on a loopback port of its own. No real API server can be run on the machines
 * these tests run on (no container runtime for kind or k3s, no etcd): this is the stand-in. It can
 * be stopped and started again on the same port with the same objects, which ends every watch —
 * the way an API server restart does.
 */
public final class MockApi implements AutoCloseable {
    private final KubernetesCrudDispatcher objects = new KubernetesCrudDispatcher(List.of());
    private KubernetesMockServer server;
    private int port;

    public MockApi() {
        start(0);
    }

    private void start(int at) {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), objects, false);
        server.init(InetAddress.getLoopbackAddress(), at);
        port = server.getPort();
    }

    /** A client of this server (each its own connections; close it). */
    public KubernetesClient client() {
        return server.createClient();
    }

    /** Stops the server (every connection and watch ends) and starts it again on the same port, objects kept. */
    public void restart() {
        server.destroy();
        start(port);
    }

    @Override
    public void close() {
        server.destroy();
    }
}
