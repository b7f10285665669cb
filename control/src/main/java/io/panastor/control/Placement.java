package io.panastor.control;

import io.grpc.Status;
import io.panastor.api.cli.Sizes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Where a volume's replicas go: on pools of distinct nodes, the nodes with the most free space
 * first, only nodes that are online, not cordoned and carry the labels asked for, and only pools
 * with room (a thick replica needs its size free; a thin one needs the pool's commitment to stay
 * within the thin-commitment limit). When too few nodes qualify the error says, node by node,
 * why the others do not. A pure function of what it is given, so it is tested on its own.
 */
public final class Placement {
    private Placement() {
    }

    /** A node as placement sees it. */
    public record NodeView(String id, boolean online, boolean cordoned, Map<String, String> labels) {
    }

    /**
     * A pool as placement sees it.
     *
     * @param capacity  bytes for data, as its engine last reported
     * @param used      bytes its engine last reported allocated
     * @param committed the sizes of every replica the store places on it
     * @param thickCommitted the sizes of the thick replicas among them
     */
    public record PoolView(String name, String node, boolean usable, long capacity, long used, long committed,
                           long thickCommitted, Map<String, String> labels) {
        /** Bytes a thick replica may still take. */
        public long free() {
            return Math.max(0, capacity - Math.max(used, thickCommitted));
        }
    }

    /**
     * What is asked for.
     *
     * @param preferredNodes nodes chosen first when they qualify (a CSI topology preference)
     * @param requiredNodes  the only nodes that qualify, when not empty (a CSI topology requirement)
     */
    public record Request(String volume, long size, int count, boolean thin, Map<String, String> nodeSelector,
                          Map<String, String> poolSelector, Set<String> excludeNodes, int thinLimitPercent,
                          List<String> preferredNodes, Set<String> requiredNodes) {
        public Request(String volume, long size, int count, boolean thin, Map<String, String> nodeSelector,
                       Map<String, String> poolSelector, Set<String> excludeNodes, int thinLimitPercent) {
            this(volume, size, count, thin, nodeSelector, poolSelector, excludeNodes, thinLimitPercent, List.of(),
                    Set.of());
        }
    }

    /**
     * Most free space first; between pools as free (thin replicas leave it as it is) the least
     * committed, so thin volumes spread over the nodes rather than fill the first names.
     */
    private static final Comparator<PoolView> ROOMIEST = Comparator.comparingLong(PoolView::free).reversed()
            .thenComparingLong(PoolView::committed).thenComparing(PoolView::node).thenComparing(PoolView::name);

    /** The chosen pool of each replica, best first; RESOURCE_EXHAUSTED naming what is short when too few fit. */
    public static List<PoolView> place(Request r, List<NodeView> nodes, List<PoolView> pools) {
        Map<String, String> why = new TreeMap<>();
        List<PoolView> best = new ArrayList<>();
        for (NodeView n : nodes) {
            String reason = nodeReason(r, n);
            if (reason != null) {
                why.put(n.id(), reason);
                continue;
            }
            PoolView choice = null;
            List<String> poolReasons = new ArrayList<>();
            for (PoolView p : pools) {
                if (!p.node().equals(n.id())) {
                    continue;
                }
                String pr = poolReason(r, p);
                if (pr != null) {
                    poolReasons.add("pool " + p.name() + " " + pr);
                } else if (choice == null || ROOMIEST.compare(p, choice) < 0) {
                    choice = p;
                }
            }
            if (choice != null) {
                best.add(choice);
            } else {
                why.put(n.id(), poolReasons.isEmpty() ? "has no pool" : String.join(", ", poolReasons));
            }
        }
        best.sort(Comparator.comparing((PoolView p) -> !r.preferredNodes().contains(p.node())).thenComparing(ROOMIEST));
        if (best.size() < r.count()) {
            StringBuilder m = new StringBuilder("volume " + r.volume() + ": " + r.count() + " replica(s) of "
                    + Sizes.format(r.size()) + " need " + r.count() + " distinct node(s) with room; "
                    + best.size() + " qualify");
            if (!best.isEmpty()) {
                m.append(" (").append(String.join(", ", best.stream().map(PoolView::node).toList())).append(')');
            }
            if (nodes.isEmpty()) {
                m.append("; no node is registered");
            }
            why.forEach((node, reason) -> m.append("; ").append(node).append(": ").append(reason));
            throw new ControlException(Status.Code.RESOURCE_EXHAUSTED, m.toString());
        }
        return List.copyOf(best.subList(0, r.count()));
    }

    private static String nodeReason(Request r, NodeView n) {
        if (r.excludeNodes().contains(n.id())) {
            return "holds a replica of the volume already";
        }
        if (!r.requiredNodes().isEmpty() && !r.requiredNodes().contains(n.id())) {
            return "not among the required nodes " + new java.util.TreeSet<>(r.requiredNodes());
        }
        if (!n.online()) {
            return "offline";
        }
        if (n.cordoned()) {
            return "cordoned";
        }
        String m = mismatch(r.nodeSelector(), n.labels());
        return m == null ? null : "labels do not match (" + m + ")";
    }

    private static String poolReason(Request r, PoolView p) {
        if (!p.usable()) {
            return "is not online";
        }
        String m = mismatch(r.poolSelector(), p.labels());
        if (m != null) {
            return "labels do not match (" + m + ")";
        }
        if (r.thin()) {
            long limit = p.capacity() * r.thinLimitPercent() / 100;
            if (p.committed() + r.size() > limit) {
                return "would be committed beyond " + r.thinLimitPercent() + "% (" + Sizes.format(p.committed())
                        + " committed of " + Sizes.format(p.capacity()) + ")";
            }
            if (p.used() >= p.capacity()) {
                return "is full";
            }
            return null;
        }
        return r.size() <= p.free() ? null : "has " + Sizes.format(p.free()) + " free, less than " + Sizes.format(r.size());
    }

    private static String mismatch(Map<String, String> want, Map<String, String> have) {
        List<String> miss = new ArrayList<>();
        for (Map.Entry<String, String> e : new TreeMap<>(want).entrySet()) {
            if (!e.getValue().equals(have.get(e.getKey()))) {
                miss.add(e.getKey() + "=" + e.getValue() + " wanted, " + (have.containsKey(e.getKey())
                        ? e.getKey() + "=" + have.get(e.getKey()) : "no " + e.getKey()));
            }
        }
        return miss.isEmpty() ? null : String.join(", ", miss);
    }
}
