package io.panastor.control;

import io.grpc.Status;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PlacementTest {
    static final long GiB = 1L << 30;

    static Placement.NodeView node(String id) {
        return new Placement.NodeView(id, true, false, Map.of());
    }

    static Placement.PoolView pool(String name, String node, long capacity, long used) {
        return new Placement.PoolView(name, node, true, capacity, used, used, used, Map.of());
    }

    static Placement.Request ask(long size, int count) {
        return new Placement.Request("v", size, count, false, Map.of(), Map.of(), Set.of(), 250);
    }

    @Test
    void replicasGoToDistinctNodesMostFreeFirst() {
        List<Placement.NodeView> nodes = List.of(node("a"), node("b"), node("c"));
        List<Placement.PoolView> pools = List.of(pool("a1", "a", 10 * GiB, 8 * GiB), pool("a2", "a", 10 * GiB, 1 * GiB),
                pool("b1", "b", 10 * GiB, 5 * GiB), pool("c1", "c", 10 * GiB, 0));
        List<Placement.PoolView> got = Placement.place(ask(GiB, 3), nodes, pools);
        assertThat(got).extracting(Placement.PoolView::name).containsExactly("c1", "a2", "b1");
        assertThat(Placement.place(ask(GiB, 2), nodes, pools)).extracting(Placement.PoolView::node)
                .containsExactly("c", "a");
    }

    @Test
    void thinReplicasSpreadOverPoolsAsFreeByWhatIsCommitted() {
        List<Placement.NodeView> nodes = List.of(node("a"), node("b"), node("c"));
        // Thin replicas take no space up front: every pool as free, a and b committed already.
        List<Placement.PoolView> pools = List.of(new Placement.PoolView("a1", "a", true, 10 * GiB, 0, 2 * GiB, 0, Map.of()),
                new Placement.PoolView("b1", "b", true, 10 * GiB, 0, GiB, 0, Map.of()),
                new Placement.PoolView("c1", "c", true, 10 * GiB, 0, 0, 0, Map.of()));
        Placement.Request thin = new Placement.Request("v", GiB, 2, true, Map.of(), Map.of(), Set.of(), 250);
        assertThat(Placement.place(thin, nodes, pools)).extracting(Placement.PoolView::node).containsExactly("c", "b");
    }

    @Test
    void preferredNodesComeFirstAndRequiredNodesAreTheOnlyOnes() {
        List<Placement.NodeView> nodes = List.of(node("a"), node("b"), node("c"));
        List<Placement.PoolView> pools = List.of(pool("a1", "a", 10 * GiB, 0), pool("b1", "b", 10 * GiB, 5 * GiB),
                pool("c1", "c", 10 * GiB, 9 * GiB));
        Placement.Request preferring = new Placement.Request("v", GiB / 2, 2, false, Map.of(), Map.of(), Set.of(), 250,
                List.of("c"), Set.of());
        assertThat(Placement.place(preferring, nodes, pools)).extracting(Placement.PoolView::node).containsExactly("c", "a");
        Placement.Request requiring = new Placement.Request("v", GiB / 2, 2, false, Map.of(), Map.of(), Set.of(), 250,
                List.of(), Set.of("b", "c"));
        assertThat(Placement.place(requiring, nodes, pools)).extracting(Placement.PoolView::node).containsExactly("b", "c");
        Placement.Request tooFew = new Placement.Request("v", GiB / 2, 2, false, Map.of(), Map.of(), Set.of(), 250,
                List.of(), Set.of("b"));
        assertThatThrownBy(() -> Placement.place(tooFew, nodes, pools))
                .hasMessageContaining("1 qualify (b)").hasMessageContaining("a: not among the required nodes [b]");
    }

    @Test
    void whatIsShortIsNamedNodeByNode() {
        List<Placement.NodeView> nodes = List.of(node("a"), new Placement.NodeView("b", true, true, Map.of()),
                new Placement.NodeView("c", false, false, Map.of()), new Placement.NodeView("d", true, false,
                        Map.of("zone", "east")), node("e"), node("f"));
        List<Placement.PoolView> pools = List.of(pool("a1", "a", 10 * GiB, 0), pool("b1", "b", 10 * GiB, 0),
                pool("c1", "c", 10 * GiB, 0), pool("d1", "d", 10 * GiB, 0), pool("e1", "e", 10 * GiB, 9 * GiB));
        Placement.Request r = new Placement.Request("v", 2 * GiB, 3, false, Map.of("zone", "east"), Map.of(), Set.of(),
                250);
        assertThatThrownBy(() -> Placement.place(r, nodes, pools))
                .isInstanceOfSatisfying(ControlException.class,
                        e -> assertThat(e.code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED))
                .hasMessageContaining("3 replica(s) of 2GiB need 3 distinct node(s) with room; 1 qualify (d)")
                .hasMessageContaining("b: cordoned")
                .hasMessageContaining("c: offline")
                .hasMessageContaining("a: labels do not match (zone=east wanted, no zone)")
                .hasMessageContaining("f: labels do not match");
        Placement.Request roomy = ask(2 * GiB, 3);
        assertThatThrownBy(() -> Placement.place(roomy, nodes, pools))
                .hasMessageContaining("e: pool e1 has 1GiB free, less than 2GiB")
                .hasMessageContaining("f: has no pool");
    }

    @Test
    void nodesHoldingTheVolumeAlreadyAndUnusablePoolsAreSkipped() {
        List<Placement.NodeView> nodes = List.of(node("a"), node("b"));
        List<Placement.PoolView> pools = List.of(pool("a1", "a", 10 * GiB, 0),
                new Placement.PoolView("b1", "b", false, 10 * GiB, 0, 0, 0, Map.of()));
        Placement.Request r = new Placement.Request("v", GiB, 1, false, Map.of(), Map.of(), Set.of("a"), 250);
        assertThatThrownBy(() -> Placement.place(r, nodes, pools))
                .hasMessageContaining("a: holds a replica of the volume already")
                .hasMessageContaining("b: pool b1 is not online");
    }

    @Test
    void thinReplicasCommitAPoolUpToTheLimit() {
        List<Placement.NodeView> nodes = List.of(node("a"));
        Placement.PoolView p = new Placement.PoolView("a1", "a", true, 10 * GiB, GiB, 20 * GiB, 0, Map.of());
        Placement.Request fits = new Placement.Request("v", 5 * GiB, 1, true, Map.of(), Map.of(), Set.of(), 250);
        assertThat(Placement.place(fits, nodes, List.of(p))).hasSize(1);
        Placement.Request over = new Placement.Request("v", 6 * GiB, 1, true, Map.of(), Map.of(), Set.of(), 250);
        assertThatThrownBy(() -> Placement.place(over, nodes, List.of(p))).hasMessageContaining("beyond 250%");
        // Thick, the same pool has 9 GiB free only where no thick replica holds it.
        assertThat(Placement.place(ask(9 * GiB, 1), nodes, List.of(p))).hasSize(1);
    }

    @Property(tries = 200)
    void aPlacementIsAlwaysOnDistinctEligibleNodesWithRoom(@ForAll @IntRange(min = 1, max = 8) int nodeCount,
                                                           @ForAll @IntRange(min = 1, max = 4) int count,
                                                           @ForAll @IntRange(min = 0, max = 1000) int seed) {
        java.util.Random rnd = new java.util.Random(seed);
        List<Placement.NodeView> nodes = new java.util.ArrayList<>();
        List<Placement.PoolView> pools = new java.util.ArrayList<>();
        for (int i = 0; i < nodeCount; i++) {
            nodes.add(new Placement.NodeView("n" + i, rnd.nextInt(5) > 0, rnd.nextInt(5) == 0, Map.of()));
            for (int j = 0; j < rnd.nextInt(3); j++) {
                pools.add(pool("p" + i + "-" + j, "n" + i, 10 * GiB, rnd.nextInt(11) * GiB));
            }
        }
        long size = (1 + rnd.nextInt(4)) * GiB;
        try {
            List<Placement.PoolView> got = Placement.place(ask(size, count), nodes, pools);
            assertThat(got).hasSize(count);
            assertThat(got.stream().map(Placement.PoolView::node).distinct().count()).isEqualTo(count);
            for (Placement.PoolView p : got) {
                Placement.NodeView n = nodes.stream().filter(x -> x.id().equals(p.node())).findFirst().orElseThrow();
                assertThat(n.online() && !n.cordoned()).isTrue();
                assertThat(p.free()).isGreaterThanOrEqualTo(size);
            }
        } catch (ControlException e) {
            long eligible = nodes.stream().filter(n -> n.online() && !n.cordoned() && pools.stream()
                    .anyMatch(p -> p.node().equals(n.id()) && p.free() >= size)).count();
            assertThat(eligible).as(e.getMessage()).isLessThan(count);
        }
    }
}
