package io.panastor.engine.lvs;

import io.panastor.engine.lvs.Records.Alloc;
import io.panastor.engine.lvs.Records.Create;
import io.panastor.engine.lvs.Records.Destroy;
import io.panastor.engine.lvs.Records.Free;
import io.panastor.engine.lvs.Records.Grow;
import io.panastor.engine.lvs.Records.Props;
import io.panastor.engine.lvs.Records.Record;
import io.panastor.engine.lvs.Records.Resize;
import io.panastor.engine.lvs.Records.Run;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A pool's metadata in memory: its replicas with their cluster maps, and which clusters are
 * in use. Records change it ({@link #apply}); an import rebuilds it from a checkpoint and the
 * log by applying the same records, so what runs and what is replayed cannot differ. A
 * record that contradicts the model (a cluster owned twice, a map entry out of range) is
 * refused with {@link Corrupt} and changes nothing.
 *
 * <p>Thread-safety: confined to its pool's metadata thread.
 */
final class PoolModel {
    /** Thrown for a record that does not fit the model: on replay, the metadata is corrupt. */
    static final class Corrupt extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Corrupt(String message) {
            super(message);
        }
    }

    static final int UNMAPPED = -1;

    /** One replica: its identity and its cluster map (logical cluster to physical, or UNMAPPED). */
    static final class Rep {
        final int id;
        final UUID uuid;
        final String name;
        long size;
        final boolean thin;
        final UUID parent;
        final String entity;
        Map<String, String> props;
        int[] map;
        int allocated;

        Rep(Create c, long clusterSize) {
            this.id = c.id();
            this.uuid = c.uuid();
            this.name = c.name();
            this.size = c.size();
            this.thin = c.thin();
            this.parent = c.parent();
            this.entity = c.entity();
            this.props = new LinkedHashMap<>(c.props());
            this.map = new int[Math.toIntExact(clustersOf(c.size(), clusterSize))];
            Arrays.fill(map, UNMAPPED);
        }
    }

    final long clusterSize;
    final long clusterLimit;
    long clusters;
    int nextId = 1;
    private final BitSet used = new BitSet();
    private int usedCount;
    private final Map<Integer, Rep> byId = new LinkedHashMap<>();

    PoolModel(long clusterSize, long clusterLimit, long clusters) {
        this.clusterSize = clusterSize;
        this.clusterLimit = clusterLimit;
        this.clusters = clusters;
    }

    static long clustersOf(long bytes, long clusterSize) {
        return (bytes + clusterSize - 1) / clusterSize;
    }

    Collection<Rep> replicas() {
        return byId.values();
    }

    Rep replica(int id) {
        return byId.get(id);
    }

    int usedClusters() {
        return usedCount;
    }

    long freeClusters() {
        return clusters - usedCount;
    }

    boolean isUsed(int pcluster) {
        return used.get(pcluster);
    }

    /** {@code n} free clusters, lowest first, as runs starting at logical cluster {@code lstart}; null if there are fewer. */
    List<Run> findFree(int lstart, int n) {
        if (n > freeClusters()) {
            return null;
        }
        List<Run> runs = new ArrayList<>();
        int p = 0;
        int l = lstart;
        while (n > 0) {
            p = used.nextClearBit(p);
            int end = Math.min(used.nextSetBit(p) < 0 ? (int) clusters : used.nextSetBit(p), (int) clusters);
            int count = Math.min(n, end - p);
            runs.add(new Run(l, p, count));
            l += count;
            p += count;
            n -= count;
        }
        return runs;
    }

    /** One free cluster, or -1. */
    int findFree() {
        int p = used.nextClearBit(0);
        return p < clusters ? p : -1;
    }

    void apply(Record r) {
        switch (r) {
            case Create c -> create(c);
            case Destroy d -> destroy(rep(d.id()));
            case Resize z -> resize(rep(z.id()), z.size(), z.runs());
            case Alloc a -> map(rep(a.id()), a.lcluster(), a.pcluster());
            case Free f -> {
                Rep rep = rep(f.id());
                for (int l : f.lclusters()) {
                    checkLogical(rep, l);
                    if (rep.map[l] == UNMAPPED) {
                        throw new Corrupt("replica " + rep.name + " frees logical cluster " + l + ", which it does not have");
                    }
                }
                for (int l : f.lclusters()) {
                    release(rep.map[l]);
                    rep.map[l] = UNMAPPED;
                    rep.allocated--;
                }
            }
            case Grow g -> {
                if (g.clusters() < clusters || g.clusters() > clusterLimit) {
                    throw new Corrupt("the pool cannot go from " + clusters + " to " + g.clusters() + " clusters (limit "
                            + clusterLimit + ")");
                }
                clusters = g.clusters();
            }
            case Props p -> rep(p.id()).props = new LinkedHashMap<>(p.props());
        }
    }

    private void create(Create c) {
        if (c.id() <= 0 || byId.containsKey(c.id())) {
            throw new Corrupt("replica id " + c.id() + " is taken or invalid");
        }
        for (Rep other : byId.values()) {
            if (other.uuid.equals(c.uuid()) || other.name.equals(c.name())) {
                throw new Corrupt("replica " + c.name() + " (" + c.uuid() + ") is there already");
            }
        }
        if (c.size() <= 0 || clustersOf(c.size(), clusterSize) > Integer.MAX_VALUE) {
            throw new Corrupt("replica " + c.name() + " has size " + c.size());
        }
        Rep rep = new Rep(c, clusterSize);
        checkRuns(rep, c.runs());
        byId.put(c.id(), rep);
        nextId = Math.max(nextId, c.id() + 1);
        mapRuns(rep, c.runs());
    }

    private void destroy(Rep rep) {
        for (int p : rep.map) {
            if (p != UNMAPPED) {
                release(p);
            }
        }
        byId.remove(rep.id);
    }

    private void resize(Rep rep, long size, List<Run> runs) {
        if (size < rep.size) {
            throw new Corrupt("replica " + rep.name + " cannot shrink from " + rep.size + " to " + size);
        }
        long n = clustersOf(size, clusterSize);
        if (n > Integer.MAX_VALUE) {
            throw new Corrupt("replica " + rep.name + " cannot be " + size + " bytes");
        }
        int old = rep.map.length;
        int[] map = Arrays.copyOf(rep.map, (int) n);
        Arrays.fill(map, old, map.length, UNMAPPED);
        int[] before = rep.map;
        rep.map = map;
        try {
            checkRuns(rep, runs);
        } catch (Corrupt e) {
            rep.map = before;
            throw e;
        }
        rep.size = size;
        mapRuns(rep, runs);
    }

    private void checkRuns(Rep rep, List<Run> runs) {
        BitSet seen = new BitSet();
        for (Run run : runs) {
            for (int i = 0; i < run.count(); i++) {
                int l = run.lstart() + i;
                int p = run.pstart() + i;
                checkLogical(rep, l);
                checkPhysical(p);
                if (rep.map[l] != UNMAPPED || seen.get(p)) {
                    throw new Corrupt("replica " + rep.name + " maps logical cluster " + l + " twice");
                }
                seen.set(p);
            }
        }
    }

    private void mapRuns(Rep rep, List<Run> runs) {
        for (Run run : runs) {
            for (int i = 0; i < run.count(); i++) {
                rep.map[run.lstart() + i] = run.pstart() + i;
                take(run.pstart() + i);
                rep.allocated++;
            }
        }
    }

    private void map(Rep rep, int l, int p) {
        checkLogical(rep, l);
        checkPhysical(p);
        if (rep.map[l] != UNMAPPED) {
            throw new Corrupt("replica " + rep.name + " has logical cluster " + l + " already");
        }
        rep.map[l] = p;
        take(p);
        rep.allocated++;
    }

    private void checkLogical(Rep rep, int l) {
        if (l < 0 || l >= rep.map.length) {
            throw new Corrupt("logical cluster " + l + " is outside replica " + rep.name + " (" + rep.map.length + ")");
        }
    }

    private void checkPhysical(int p) {
        if (p < 0 || p >= clusters) {
            throw new Corrupt("cluster " + p + " is outside the pool (" + clusters + " clusters)");
        }
        if (used.get(p)) {
            throw new Corrupt("cluster " + p + " is owned twice");
        }
    }

    private void take(int p) {
        used.set(p);
        usedCount++;
    }

    private void release(int p) {
        used.clear(p);
        usedCount--;
    }

    private Rep rep(int id) {
        Rep r = byId.get(id);
        if (r == null) {
            throw new Corrupt("no replica with id " + id);
        }
        return r;
    }

    /** The replica as a record: what a checkpoint holds of it. */
    static Create asRecord(Rep r) {
        List<Run> runs = new ArrayList<>();
        int i = 0;
        while (i < r.map.length) {
            if (r.map[i] == UNMAPPED) {
                i++;
                continue;
            }
            int start = i;
            int p = r.map[i];
            while (i < r.map.length && r.map[i] == p + (i - start)) {
                i++;
            }
            runs.add(new Run(start, p, i - start));
        }
        return new Create(r.id, r.uuid, r.name, r.size, r.thin, r.parent, r.entity, r.props, runs);
    }
}
