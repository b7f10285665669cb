package io.panastor.control;

import io.grpc.Status;
import io.panastor.api.control.v1.HeartbeatRequest;
import io.panastor.api.control.v1.NodeRecord;
import io.panastor.api.control.v1.NodeStatus;
import io.panastor.api.control.v1.RegisterRequest;
import io.panastor.control.store.Store;
import java.io.IOException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The storage nodes: what each registered with (persisted under {@code nodes/ID}), whether it
 * is cordoned (persisted), and when it was last heard from (in memory, on an injectable clock).
 * A node is ONLINE while its heartbeats come within the node timeout, OFFLINE after that or once
 * it deregistered, UNKNOWN when this control plane has not heard from it since it started. A
 * registration with a new instance UUID is a restarted engine: the resync listener is told.
 */
public final class Nodes implements AutoCloseable {
    static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");
    private static final String PREFIX = "nodes/";

    private final Store store;
    private final InstantSource clock;
    private final Duration timeout;
    private final Map<String, NodeRecord> records = new ConcurrentHashMap<>();
    private final Map<String, Long> lastSeen = new ConcurrentHashMap<>();
    private final Map<String, Boolean> deregistered = new ConcurrentHashMap<>();
    private final Map<String, EngineClient> clients = new ConcurrentHashMap<>();
    private volatile Consumer<String> onNewInstance = n -> { };

    Nodes(Store store, InstantSource clock, Duration timeout) throws IOException {
        this.store = store;
        this.clock = clock;
        this.timeout = timeout;
        for (byte[] v : store.list(PREFIX).values()) {
            NodeRecord r = NodeRecord.parseFrom(v);
            records.put(r.getId(), r);
        }
    }

    void onNewInstance(Consumer<String> listener) {
        this.onNewInstance = listener;
    }

    Duration timeout() {
        return timeout;
    }

    /** Registers (or re-registers) a node; true if its instance is new to this control plane's store. */
    synchronized boolean register(RegisterRequest r) {
        if (!ID.matcher(r.getId()).matches()) {
            throw ControlException.invalid("id '" + r.getId() + "': a node id is letters, digits, '.', '_' or '-'");
        }
        if (!r.getGrpcEndpoint().matches(".+:[0-9]{1,5}")) {
            throw ControlException.invalid("grpc_endpoint '" + r.getGrpcEndpoint() + "' of node " + r.getId()
                    + ": give HOST:PORT");
        }
        if (r.getInstanceUuid().isBlank()) {
            throw ControlException.invalid("instance_uuid of node " + r.getId() + " is empty");
        }
        if (!r.getHostnqn().startsWith("nqn.")) {
            throw ControlException.invalid("hostnqn '" + r.getHostnqn() + "' of node " + r.getId() + " is not an NQN");
        }
        NodeRecord old = records.get(r.getId());
        NodeRecord rec = NodeRecord.newBuilder().setId(r.getId()).setGrpcEndpoint(r.getGrpcEndpoint())
                .setInstanceUuid(r.getInstanceUuid()).setHostnqn(r.getHostnqn()).setVersion(r.getVersion())
                .addAllFeatures(r.getFeaturesList()).putAllLabels(r.getLabelsMap())
                .setCordoned(old != null && old.getCordoned()).build();
        boolean newInstance = old == null || !old.getInstanceUuid().equals(r.getInstanceUuid());
        if (!rec.equals(old)) {
            persist(rec);
        }
        if (old != null && !old.getGrpcEndpoint().equals(rec.getGrpcEndpoint())) {
            EngineClient c = clients.remove(r.getId());
            if (c != null) {
                c.close();
            }
        }
        lastSeen.put(r.getId(), clock.millis());
        deregistered.remove(r.getId());
        if (newInstance) {
            onNewInstance.accept(r.getId());
        }
        return newInstance;
    }

    void heartbeat(HeartbeatRequest h) {
        NodeRecord rec = records.get(h.getId());
        if (rec == null || !rec.getInstanceUuid().equals(h.getInstanceUuid())) {
            throw ControlException.notFound("node " + h.getId() + " instance " + h.getInstanceUuid()
                    + " is not registered: register it");
        }
        lastSeen.put(h.getId(), clock.millis());
        deregistered.remove(h.getId());
    }

    void deregister(String id, String instance) {
        NodeRecord rec = records.get(id);
        if (rec != null && (instance.isEmpty() || rec.getInstanceUuid().equals(instance))) {
            deregistered.put(id, true);
        }
    }

    private void persist(NodeRecord rec) {
        try {
            store.put(PREFIX + rec.getId(), rec.toByteArray());
        } catch (IOException e) {
            throw ControlException.store(e);
        }
        records.put(rec.getId(), rec);
    }

    synchronized NodeRecord cordon(String id, boolean cordoned) {
        NodeRecord rec = require(id);
        if (rec.getCordoned() != cordoned) {
            rec = rec.toBuilder().setCordoned(cordoned).build();
            persist(rec);
        }
        return rec;
    }

    Optional<NodeRecord> get(String id) {
        return Optional.ofNullable(records.get(id));
    }

    NodeRecord require(String id) {
        NodeRecord r = records.get(id);
        if (r == null) {
            throw ControlException.notFound("node " + id + " is not registered" + (records.isEmpty() ? " (no node is)"
                    : "; the nodes are " + new java.util.TreeSet<>(records.keySet())));
        }
        return r;
    }

    List<NodeRecord> all() {
        List<NodeRecord> l = new ArrayList<>(records.values());
        l.sort(java.util.Comparator.comparing(NodeRecord::getId));
        return l;
    }

    NodeStatus status(String id) {
        if (!records.containsKey(id) || deregistered.containsKey(id)) {
            return records.containsKey(id) ? NodeStatus.NODE_OFFLINE : NodeStatus.NODE_UNKNOWN;
        }
        Long seen = lastSeen.get(id);
        if (seen == null) {
            return NodeStatus.NODE_UNKNOWN;
        }
        return clock.millis() - seen > timeout.toMillis() ? NodeStatus.NODE_OFFLINE : NodeStatus.NODE_ONLINE;
    }

    boolean online(String id) {
        return status(id) == NodeStatus.NODE_ONLINE;
    }

    long lastHeartbeatMillis(String id) {
        Long seen = lastSeen.get(id);
        return seen == null ? 0 : seen;
    }

    /** The node's engine client; UNAVAILABLE unless the node is online. */
    EngineClient engine(String id) {
        NodeRecord rec = require(id);
        if (!online(id)) {
            throw new ControlException(Status.Code.UNAVAILABLE, "node " + id + " is " + status(id).name()
                    .substring("NODE_".length()).toLowerCase() + ": no heartbeat within " + timeout.toSeconds() + " s");
        }
        return clients.computeIfAbsent(id, n -> new EngineClient(n, rec.getGrpcEndpoint(), timeout));
    }

    @Override
    public void close() {
        clients.values().forEach(EngineClient::close);
        clients.clear();
    }
}
