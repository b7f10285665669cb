package io.panastor.engine.lvs;

import static io.panastor.engine.lvs.LvsTestSupport.BS;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * What a pool must hold after the ops it acknowledged: replicas (name, uuid, size, thin),
 * the clusters each thin replica owns, and for each block written the seeds it may read back
 * (0: zeroes). Ops are text (see {@link LvsTestSupport#nextOp}); each is {@link #begin}
 * before it runs (what it may have done already, if it never answers), then {@link #ack}
 * (it succeeded) or {@link #fail} (it failed and changed nothing). An op begun and neither
 * acknowledged nor failed may have happened or not. {@link #verify} checks a pool against
 * the model and then takes what it found where the model allowed a choice.
 */
final class LvsModel {
    static final class Rep {
        final String name;
        final UUID uuid;
        final boolean thin;
        long size;
        /** The size an unanswered resize would give, or 0. */
        long altSize;
        /** Whether an unanswered create or destroy leaves it in doubt. */
        boolean maybe;
        /** Thin: the logical clusters it surely owns, and those it may own. */
        final Set<Integer> clusters = new TreeSet<>();
        final Set<Integer> unsure = new TreeSet<>();
        /** Block to the seeds it may read (absent: zeroes), and writes not yet flushed. */
        final Map<Long, Set<Long>> blocks = new HashMap<>();
        final Map<Long, Long> pending = new HashMap<>();

        Rep(String name, UUID uuid, long size, boolean thin) {
            this.name = name;
            this.uuid = uuid;
            this.size = size;
            this.thin = thin;
        }
    }

    final long clusterSize;
    final long bpc;
    final Map<String, Rep> reps = new LinkedHashMap<>();
    private String[] open;
    int acked;

    LvsModel(long clusterSize) {
        this.clusterSize = clusterSize;
        this.bpc = clusterSize / BS;
    }

    void begin(String op) {
        assertThat(open).as("an op is open already: " + (open == null ? "" : String.join(" ", open))).isNull();
        String[] t = op.split(" ");
        open = t;
        Rep r = reps.get(t[1]);
        switch (t[0]) {
            case "create" -> {
                if (r == null) {
                    r = new Rep(t[1], UUID.fromString(t[2]), Long.parseLong(t[3]), t[4].equals("thin"));
                    r.maybe = true;
                    reps.put(t[1], r);
                }
            }
            case "destroy" -> r.maybe = true;
            case "resize" -> r.altSize = Long.parseLong(t[2]);
            case "write" -> {
                long lba = Long.parseLong(t[2]);
                int n = Integer.parseInt(t[3]);
                long seed = Long.parseLong(t[4]);
                for (int i = 0; i < n; i++) {
                    r.blocks.computeIfAbsent(lba + i, k -> new HashSet<>(Set.of(0L))).add(seed + i);
                }
                int c = (int) (lba / bpc);
                if (r.thin && !r.clusters.contains(c)) {
                    r.unsure.add(c);
                }
            }
            case "unmap" -> {
                int c = Integer.parseInt(t[2]);
                if (r.clusters.remove(c)) {
                    r.unsure.add(c);
                }
                for (long b = c * bpc; b < (c + 1) * bpc; b++) {
                    Set<Long> s = r.blocks.get(b);
                    if (s != null) {
                        s.add(0L);
                    }
                }
            }
            case "flush" -> {
            }
            default -> throw new IllegalArgumentException(op);
        }
    }

    void ack() {
        String[] t = open;
        open = null;
        acked++;
        Rep r = reps.get(t[1]);
        switch (t[0]) {
            case "create" -> r.maybe = false;
            case "destroy" -> reps.remove(t[1]);
            case "resize" -> {
                r.size = r.altSize;
                r.altSize = 0;
            }
            case "write" -> {
                long lba = Long.parseLong(t[2]);
                int n = Integer.parseInt(t[3]);
                long seed = Long.parseLong(t[4]);
                for (int i = 0; i < n; i++) {
                    r.pending.put(lba + i, seed + i);
                }
                int c = (int) (lba / bpc);
                if (r.thin && r.unsure.remove(c)) {
                    r.clusters.add(c);
                }
            }
            case "unmap" -> {
                int c = Integer.parseInt(t[2]);
                r.unsure.remove(c);
                for (long b = c * bpc; b < (c + 1) * bpc; b++) {
                    r.blocks.remove(b);
                    r.pending.remove(b);
                }
            }
            case "flush" -> {
                // a replica's flush flushes the pool's disk: every replica's acknowledged writes are durable
                for (Rep any : reps.values()) {
                    for (Map.Entry<Long, Long> e : any.pending.entrySet()) {
                        any.blocks.put(e.getKey(), new HashSet<>(Set.of(e.getValue())));
                    }
                    any.pending.clear();
                }
            }
            default -> throw new IllegalStateException();
        }
    }

    /** The open op failed and changed nothing. */
    void fail() {
        String[] t = open;
        open = null;
        Rep r = reps.get(t[1]);
        switch (t[0]) {
            case "create" -> {
                if (r.maybe) {
                    reps.remove(t[1]);
                }
            }
            case "destroy" -> r.maybe = false;
            case "resize" -> r.altSize = 0;
            case "write" -> {
                int c = (int) (Long.parseLong(t[2]) / bpc);
                r.unsure.remove(c);
            }
            case "unmap" -> {
                int c = Integer.parseInt(t[2]);
                if (r.unsure.remove(c)) {
                    r.clusters.add(c);
                }
            }
            default -> {
            }
        }
    }

    /** The op begun last may have happened or not (the process died, or the disk, while it ran). */
    void abandon() {
        open = null;
    }

    boolean hasOpen() {
        return open != null;
    }

    /**
     * Checks pool {@code pool} of {@code engine} against the model: its replicas, their
     * allocations, the pool's accounting and every block of every replica. Then takes what
     * it found where the model allowed more than one outcome, and forgets unflushed writes
     * (what is on the disk now is all there is).
     */
    void verify(Engine engine, String pool) {
        assertThat(open).as("verify with an op open").isNull();
        PoolInfo p = engine.pool(pool).orElseThrow();
        Map<String, ReplicaInfo> actual = new LinkedHashMap<>();
        for (ReplicaInfo i : engine.listReplicas()) {
            if (i.pool().equals(pool)) {
                actual.put(i.name(), i);
            }
        }
        long used = 0;
        long committed = 0;
        for (Rep r : new ArrayList<>(reps.values())) {
            ReplicaInfo i = actual.remove(r.name);
            if (i == null) {
                assertThat(r.maybe).as("replica " + r.name + " is missing").isTrue();
                reps.remove(r.name);
                continue;
            }
            boolean doubted = r.maybe;
            r.maybe = false;
            assertThat(i.uuid()).as(r.name).isEqualTo(r.uuid);
            assertThat(i.thin()).as(r.name).isEqualTo(r.thin);
            if (r.altSize != 0 && i.sizeBytes() == r.altSize) {
                r.size = r.altSize;
            }
            r.altSize = 0;
            assertThat(i.sizeBytes()).as("size of " + r.name).isEqualTo(r.size);
            long clusters = PoolModel.clustersOf(r.size, clusterSize);
            if (!r.thin) {
                assertThat(i.allocatedBytes()).as("allocation of thick " + r.name).isEqualTo(clusters * clusterSize);
            } else {
                long have = i.allocatedBytes() / clusterSize;
                assertThat(i.allocatedBytes() % clusterSize).isZero();
                assertThat(have).as("clusters of thin " + r.name + " (sure " + r.clusters + ", unsure " + r.unsure + ")")
                        .isBetween((long) r.clusters.size(), (long) r.clusters.size() + r.unsure.size());
                if (have == r.clusters.size()) {
                    r.unsure.clear();
                } else if (have == r.clusters.size() + r.unsure.size()) {
                    r.clusters.addAll(r.unsure);
                    r.unsure.clear();
                }
            }
            used += i.allocatedBytes();
            committed += i.sizeBytes();
            checkData(engine, r, doubted ? " (its create or destroy was in flight)" : "");
        }
        assertThat(actual.keySet()).as("replicas nobody created").isEmpty();
        assertThat(p.usedBytes()).as("pool used bytes vs the replicas' allocations").isEqualTo(used);
        assertThat(p.committedBytes()).isEqualTo(committed);
        assertThat(p.replicas()).isEqualTo(reps.size());
        assertThat(p.usedBytes()).isLessThanOrEqualTo(p.capacityBytes());
    }

    private void checkData(Engine engine, Rep r, String note) {
        long blocks = r.size / BS;
        try (Arena arena = Arena.ofShared()) {
        MemorySegment scratch = arena.allocate(BS, BS);
        MemorySegment got = arena.allocate(bpc * BS, BS);
        for (long at = 0; at < blocks; at += bpc) {
            int n = (int) Math.min(bpc, blocks - at);
            LvsTestSupport.readInto(engine, r.uuid.toString(), at, n, got);
            for (int b = 0; b < n; b++) {
                long lba = at + b;
                Set<Long> allowed = r.blocks.get(lba);
                if (allowed == null) {
                    assertThat(LvsTestSupport.holds(got, b, 0, scratch))
                            .as("replica " + r.name + " block " + lba + " was never written: zeroes").isTrue();
                    continue;
                }
                Long found = null;
                for (long seed : allowed) {
                    if (LvsTestSupport.holds(got, b, seed, scratch)) {
                        found = seed;
                        break;
                    }
                }
                assertThat(found).as("replica " + r.name + note + " block " + lba + " holds one of seeds " + allowed).isNotNull();
                if (found == 0) {
                    r.blocks.remove(lba);
                } else {
                    r.blocks.put(lba, new HashSet<>(Set.of(found)));
                }
            }
        }
        }
        r.pending.clear();
    }
}
