package io.panastor.control;

import io.panastor.api.v1.Nexus;
import io.panastor.api.v1.Replica;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the engines hold, read once per node for one answer (a volume list asks each node for
 * its replicas and nexuses once, not once per volume). A node that is not online, or does not
 * answer, has an empty view and {@link #reachable} false.
 */
final class Snapshot {
    private final Nodes nodes;
    private final Map<String, NodeView> views = new HashMap<>();

    private record NodeView(boolean reachable, Map<String, Replica> replicas, Map<String, Nexus> nexuses) {
    }

    Snapshot(Nodes nodes) {
        this.nodes = nodes;
    }

    private NodeView view(String node) {
        return views.computeIfAbsent(node, n -> {
            try {
                EngineClient e = nodes.engine(n);
                Map<String, Replica> rs = new HashMap<>();
                e.listReplicas().forEach(r -> rs.put(r.getUuid(), r));
                Map<String, Nexus> ns = new HashMap<>();
                e.listNexuses().forEach(x -> ns.put(x.getUuid(), x));
                return new NodeView(true, rs, ns);
            } catch (ControlException ex) {
                return new NodeView(false, Map.of(), Map.of());
            }
        });
    }

    boolean reachable(String node) {
        return view(node).reachable();
    }

    Optional<Replica> replica(String node, String uuid) {
        return Optional.ofNullable(view(node).replicas().get(uuid));
    }

    Optional<Nexus> nexus(String node, String uuid) {
        return Optional.ofNullable(view(node).nexuses().get(uuid));
    }

    Map<String, Replica> replicas(String node) {
        return view(node).replicas();
    }

    Map<String, Nexus> nexuses(String node) {
        return view(node).nexuses();
    }
}
