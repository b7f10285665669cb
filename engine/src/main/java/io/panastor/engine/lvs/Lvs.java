package io.panastor.engine.lvs;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.error.EngineException.Reason;
import io.panastor.engine.lvs.MetaCodec.BadBlock;
import io.panastor.engine.lvs.MetaCodec.Checkpoint;
import io.panastor.engine.lvs.MetaCodec.Superblock;
import io.panastor.engine.lvs.PoolModel.Rep;
import io.panastor.engine.lvs.Records.Record;
import io.panastor.engine.lvs.Records.Run;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.IntConsumer;

/**
 * A pool: a volume store on one disk (FORMAT.md), its replicas and their bdevs.
 *
 * <p>Every metadata change runs on the pool's metadata thread (a virtual thread, never a
 * reactor: it blocks on its disk IO), one batch at a time. A batch takes every request
 * waiting (replica create/destroy/resize/properties, grow, and the data path's cluster
 * allocations and frees), applies each to the in-memory {@link PoolModel} (one that does not
 * fit fails alone and changes nothing), then makes it durable in this order: clusters being
 * allocated are zeroed, the disk is flushed if that happened, the batch's records are
 * appended to the log (or, when the log is full, a whole checkpoint is written to the idle
 * slot) and the disk is flushed again; then clusters being freed are unmapped (after the
 * records, so that a destroy that never reached the disk leaves its replica's data). Only then are new
 * cluster mappings published to the IO reactors and the requests answered. A batch whose
 * disk IO fails leaves the pool FAULTED: it refuses every change until re-imported, which
 * finds the last durable state.
 *
 * <p>Thread-safety: the public methods from any thread; the model, the layout's cursor
 * (epoch, slot, log position) and the buffers only on the metadata thread.
 */
public final class Lvs {
    private static final System.Logger LOG = System.getLogger(Lvs.class.getName());
    /** Most requests one batch takes. */
    private static final int BATCH = 512;
    /** What a checkpoint may spend on replica records (the rest of a slot is for cluster runs). */
    private static final long RECORD_BUDGET = (1L << 20) - (64L << 10);

    private final String name;
    private final UUID uuid;
    private final String diskUri;
    private final Layout layout;
    private final Bdevs bdevs;
    private final BdevClaim claim;
    private final MdIo md;
    private final PoolModel model;
    private final Arena arena = Arena.ofShared();
    private final LinkedBlockingQueue<Op> queue = new LinkedBlockingQueue<>();
    private final Map<Integer, Lvol> lvols = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile PoolState state = PoolState.ONLINE;
    private volatile String faultedWhy;
    private volatile PoolInfo info;
    private final Map<Integer, ReplicaInfo> infos = new ConcurrentHashMap<>();
    private long epoch;
    private int slot;
    private int logSeq;
    private long recordBytes;
    private volatile boolean stopped;
    private final CompletableFuture<Void> started = new CompletableFuture<>();

    private Lvs(String name, UUID uuid, String diskUri, Layout layout, Bdevs bdevs, BdevClaim claim, MdIo md,
                PoolModel model, long epoch, int slot) {
        this.name = name;
        this.uuid = uuid;
        this.diskUri = diskUri;
        this.layout = layout;
        this.bdevs = bdevs;
        this.claim = claim;
        this.md = md;
        this.model = model;
        this.epoch = epoch;
        this.slot = slot;
        this.thread = Thread.ofVirtual().name("lvs-" + name).unstarted(this::loop);
    }

    public String name() {
        return name;
    }

    public UUID uuid() {
        return uuid;
    }

    Bdev disk() {
        return md.disk();
    }

    Layout layout() {
        return layout;
    }

    public PoolState state() {
        return state;
    }

    public PoolInfo info() {
        return info;
    }

    public List<ReplicaInfo> replicas() {
        return List.copyOf(infos.values());
    }

    // ------------------------------------------------------------------ create and import (blocking: control threads)

    /**
     * Writes a new pool on {@code disk} (claimed by the caller) and opens it. Blocking; call
     * off the reactors.
     */
    static Lvs create(PoolSpec spec, UUID uuid, Bdev disk, String diskUri, BdevClaim claim, Bdevs bdevs, Reactor home) {
        MdIo md = new MdIo(disk, home);
        long clusterSize = spec.clusterSize() == 0 ? PoolSpec.DEFAULT_CLUSTER_SIZE : spec.clusterSize();
        Layout layout = Layout.plan(clusterSize, disk.blockSize(), disk.sizeBytes());
        try (Arena a = Arena.ofShared()) {   // shared: a bdev may touch the buffers on its reactor (malloc copies them)
            MemorySegment head = a.allocate(128 << 10, Layout.PAGE);
            md.read(0, head);
            ByteBuffer b = head.asByteBuffer();
            for (int copy = 0; copy < 2; copy++) {
                ByteBuffer page = b.slice(copy * Layout.PAGE, Layout.PAGE);
                if (page.order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0) == MetaCodec.SUPER_MAGIC) {
                    String what;
                    try {
                        Superblock s = MetaCodec.decodeSuperblock(page);
                        what = "pool " + s.name() + " (" + s.uuid() + ")";
                    } catch (BadBlock e) {
                        what = "a damaged pool superblock (" + e.getMessage() + ")";
                    }
                    throw new EngineException(Reason.ALREADY_EXISTS, "disk " + diskUri + " holds " + what
                            + ": import it, or destroy it first");
                }
            }
            if (!spec.overwrite()) {
                for (int i = 0; i < b.capacity(); i += 8) {
                    if (b.getLong(i) != 0) {
                        throw new EngineException(Reason.INVALID_ARGUMENT, "disk " + diskUri + " is not blank (byte "
                                + i + " of its first 128 KiB is not zero: a partition table or a filesystem?); "
                                + "create the pool with overwrite to write over it");
                    }
                }
            }
        }
        PoolModel model = new PoolModel(clusterSize, layout.clusterLimit(), layout.clustersFor(disk.sizeBytes()));
        Lvs lvs = new Lvs(spec.name(), uuid, diskUri, layout, bdevs, claim, md, model, 1, 0);
        // Metadata region first (a stale log or slot from an earlier pool must not replay), the superblock last.
        md.writeZeroes(0, layout.dataStart());
        lvs.writeCheckpointTo(0, 1);
        md.flush();
        ByteBuffer sb = MetaCodec.encodeSuperblock(new Superblock(uuid, spec.name(), layout));
        MemorySegment two = lvs.arena.allocate(2L * Layout.PAGE, Layout.PAGE);
        two.asByteBuffer().put(0, sb, 0, Layout.PAGE).put(Layout.PAGE, sb, 0, Layout.PAGE);
        md.write(0, two);
        md.flush();
        lvs.start();
        return lvs;
    }

    /**
     * Opens the pool on {@code disk} (claimed by the caller) as its metadata last made
     * durable says, registers its replicas' bdevs and compacts its log into a fresh
     * checkpoint. Blocking; call off the reactors.
     */
    static Lvs importFrom(String expectName, UUID expectUuid, Bdev disk, String diskUri, BdevClaim claim, Bdevs bdevs,
                          Reactor home, java.util.function.BiConsumer<String, UUID> vet) {
        MdIo md = new MdIo(disk, home);
        Superblock sb;
        try (Arena a = Arena.ofShared()) {   // shared: a bdev may touch the buffers on its reactor (malloc copies them)
            MemorySegment head = a.allocate(2L * Layout.PAGE, Layout.PAGE);
            md.read(0, head);
            sb = readSuperblock(head.asByteBuffer(), diskUri);
        }
        if (expectName != null && !expectName.equals(sb.name())) {
            throw new EngineException(Reason.INVALID_ARGUMENT, "disk " + diskUri + " holds pool " + sb.name()
                    + ", not " + expectName);
        }
        if (expectUuid != null && !expectUuid.equals(sb.uuid())) {
            throw new EngineException(Reason.INVALID_ARGUMENT, "disk " + diskUri + " holds pool " + sb.name()
                    + " with uuid " + sb.uuid() + ", not " + expectUuid);
        }
        vet.accept(sb.name(), sb.uuid());   // refused before anything is written (the compaction below writes)
        Layout l = sb.layout();
        if (l.blockSize() != disk.blockSize() || l.dataStart() + l.clusterSize() > disk.sizeBytes()
                || l.clusterSize() < PoolSpec.MIN_CLUSTER_SIZE || Long.bitCount(l.clusterSize()) != 1
                || l.slotA() != Layout.SLOT_A || l.logStart() != l.slotB() + l.slotBytes()) {
            throw new EngineException(Reason.IO_ERROR, "pool " + sb.name() + " on " + diskUri + " does not fit its disk "
                    + "(block size " + l.blockSize() + " vs " + disk.blockSize() + ", data from byte " + l.dataStart()
                    + ", disk " + disk.sizeBytes() + " bytes)");
        }
        Checkpoint best = null;
        int bestSlot = -1;
        List<String> why = new ArrayList<>();
        try (Arena a = Arena.ofShared()) {   // shared: a bdev may touch the buffers on its reactor (malloc copies them)
            for (int s = 0; s < 2; s++) {
                long at = s == 0 ? l.slotA() : l.slotB();
                try {
                    MemorySegment first = a.allocate(Layout.PAGE, Layout.PAGE);
                    md.read(at, first);
                    long len = MetaCodec.checkpointLength(first.asByteBuffer());
                    if (len < 0 || len > l.slotBytes()) {
                        why.add("slot " + "AB".charAt(s) + " at byte " + at + (len < 0 ? " is empty" : " is damaged"));
                        continue;
                    }
                    MemorySegment all = a.allocate(Layout.roundUp(len, Layout.PAGE), Layout.PAGE);
                    md.read(at, all);
                    Checkpoint c = MetaCodec.decodeCheckpoint(all.asByteBuffer(), (int) len);
                    if (best == null || c.epoch() > best.epoch()) {
                        best = c;
                        bestSlot = s;
                    }
                } catch (BadBlock e) {
                    why.add("slot " + "AB".charAt(s) + " at byte " + at + ": " + e.getMessage());
                }
            }
        }
        if (best == null) {
            throw new EngineException(Reason.IO_ERROR, "pool " + sb.name() + " on " + diskUri
                    + " has no intact checkpoint: " + String.join("; ", why));
        }
        if (l.dataStart() + best.clusters() * l.clusterSize() > disk.sizeBytes()) {
            throw new EngineException(Reason.IO_ERROR, "pool " + sb.name() + " has " + best.clusters() + " clusters of "
                    + l.clusterSize() + " bytes, more than disk " + diskUri + " (" + disk.sizeBytes()
                    + " bytes) holds: the disk shrank");
        }
        PoolModel model = new PoolModel(l.clusterSize(), l.clusterLimit(), best.clusters());
        try {
            if (best.clusters() > l.clusterLimit()) {
                throw new PoolModel.Corrupt("the checkpoint has " + best.clusters() + " clusters, more than the limit");
            }
            for (Records.Create c : best.replicas()) {
                model.apply(c);
            }
            model.nextId = Math.max(model.nextId, best.nextId());
        } catch (PoolModel.Corrupt | IllegalStateException e) {
            throw new EngineException(Reason.IO_ERROR, "pool " + sb.name() + " on " + diskUri + ": checkpoint "
                    + best.epoch() + " in slot " + "AB".charAt(bestSlot) + " is inconsistent: " + e.getMessage());
        }
        Lvs lvs = new Lvs(sb.name(), sb.uuid(), diskUri, l, bdevs, claim, md, model, best.epoch(), bestSlot);
        lvs.replayLog();
        for (Rep r : model.replicas()) {
            lvs.recordBytes += Records.replicaSize(PoolModel.asRecord(r)) - 12L * PoolModel.asRecord(r).runs().size();
        }
        // Compact: what was replayed goes into a fresh checkpoint in the other slot, and the log starts empty.
        lvs.checkpoint();
        lvs.start();
        return lvs;
    }

    private static Superblock readSuperblock(ByteBuffer head, String diskUri) {
        List<String> bad = new ArrayList<>();
        for (int copy = 0; copy < 2; copy++) {
            try {
                Superblock s = MetaCodec.decodeSuperblock(head.slice(copy * Layout.PAGE, Layout.PAGE));
                if (s != null) {
                    return s;
                }
                bad.add("block " + copy + " has no pool magic");
            } catch (BadBlock e) {
                bad.add("block " + copy + ": " + e.getMessage());
            }
        }
        boolean anyMagic = bad.stream().noneMatch(s -> s.endsWith("no pool magic")) || bad.size() != 2
                || !bad.get(0).endsWith("no pool magic") || !bad.get(1).endsWith("no pool magic");
        if (!anyMagic) {
            throw new EngineException(Reason.NOT_FOUND, "disk " + diskUri + " holds no pool (no superblock)");
        }
        throw new EngineException(Reason.IO_ERROR, "disk " + diskUri + " has a damaged pool superblock: "
                + String.join("; ", bad));
    }

    /**
     * Replays the log of the current epoch, batch by batch: a batch counts only when every one
     * of its pages is intact (a batch cut short by a crash or a torn write was never
     * acknowledged, and goes whole). An intact page of a later batch beyond the point where
     * replay stopped means a page in the middle of the log was damaged after it was durable:
     * that is refused, not passed over.
     */
    private void replayLog() {
        MemorySegment log = arena.allocate(layout.logBytes(), Layout.PAGE);
        md.read(layout.logStart(), log);
        ByteBuffer all = log.asByteBuffer();
        int total = (int) layout.logPages();
        MetaCodec.LogPage[] pages = new MetaCodec.LogPage[total];
        for (int i = 0; i < total; i++) {
            pages[i] = MetaCodec.logPage(all.slice(i * Layout.PAGE, Layout.PAGE));
        }
        if (pages[0] != null && pages[0].epoch() > epoch) {
            throw new EngineException(Reason.IO_ERROR, "pool " + name + ": its log is of epoch " + pages[0].epoch()
                    + " but the newest intact checkpoint is of epoch " + epoch + " (a newer checkpoint is damaged)");
        }
        int s = 0;
        int n = 0;
        while (s < total) {
            MetaCodec.LogPage head = pages[s];
            if (!inBatch(head, s, s, head == null ? 0 : head.batchPages()) || s + head.batchPages() > total) {
                break;
            }
            int count = head.batchPages();
            ByteBuffer stream = ByteBuffer.allocate(count * MetaCodec.LOG_PAYLOAD);
            boolean whole = true;
            for (int i = s; i < s + count && whole; i++) {
                whole = inBatch(pages[i], i, s, count);
                if (whole) {
                    stream.put(pages[i].payload().duplicate());
                }
            }
            if (!whole) {
                break;
            }
            stream.flip();
            List<Record> records;
            try {
                records = MetaCodec.decodeRecords(stream);
            } catch (RuntimeException e) {
                throw new EngineException(Reason.IO_ERROR, "pool " + name + ": the log batch at page " + s + " of epoch "
                        + epoch + " does not parse: " + e.getMessage());
            }
            for (Record r : records) {
                try {
                    model.apply(r);
                } catch (PoolModel.Corrupt e) {
                    throw new EngineException(Reason.IO_ERROR, "pool " + name + ": log record " + n + " of epoch "
                            + epoch + " contradicts the metadata before it: " + e.getMessage());
                }
                n++;
            }
            s += count;
        }
        for (int m = s + 1; m < total; m++) {
            MetaCodec.LogPage p = pages[m];
            if (p != null && p.epoch() == epoch && p.seq() == m && p.batchFirst() > s) {
                throw new EngineException(Reason.IO_ERROR, "pool " + name + ": log page " + s + " of epoch " + epoch
                        + " is damaged, but the batch at page " + p.batchFirst() + " after it is intact: the metadata "
                        + "was damaged after it was written; refusing to import without the changes after page " + s);
            }
        }
        logSeq = s;
    }

    private boolean inBatch(MetaCodec.LogPage p, int seq, int first, int count) {
        return p != null && p.epoch() == epoch && p.seq() == seq && p.batchFirst() == first && p.batchPages() == count;
    }

    private void start() {
        for (Rep r : model.replicas()) {
            register(r);
        }
        refreshInfo(null);
        thread.start();
        started.complete(null);
    }

    private void register(Rep r) {
        Lvol lvol = new Lvol(this, r.id, r.name, r.uuid, r.size, r.thin, r.map.clone());
        bdevs.registerOwned(lvol, "pool " + name);
        lvols.put(r.id, lvol);
    }

    // ------------------------------------------------------------------ requests

    private abstract static class Op {
        /** Applies itself to the model, adding to {@code b}; throws an EngineException to fail alone. */
        abstract void apply(Batch b);

        /** The batch did not become durable (or the pool is faulted / closing). */
        abstract void fail(EngineException e);

        /** Before any op of the batch applies: what must be true of the data path first (frees, destroys). */
        void prepare(Lvs lvs) {
        }
    }

    /** An op that answers a control-path future: its failure fails the future. */
    private abstract static class Answering<T> extends Op {
        final CompletableFuture<T> f;

        Answering(CompletableFuture<T> f) {
            this.f = f;
        }

        @Override
        void fail(EngineException e) {
            f.completeExceptionally(e);
        }
    }

    /** What one batch writes and whom it answers. */
    private final class Batch {
        final List<Record> records = new ArrayList<>();
        final List<Run> zero = new ArrayList<>();
        final List<Integer> unmap = new ArrayList<>();
        final List<Runnable> publish = new ArrayList<>();
        final List<Runnable> answers = new ArrayList<>();
        final Set<Integer> touched = new HashSet<>();
    }

    /** Replica {@code ruuid} of this pool, or NOT_FOUND. Metadata thread. */
    private Rep required(UUID ruuid) {
        Rep rep = byUuid(ruuid);
        if (rep == null) {
            throw new EngineException(Reason.NOT_FOUND, "pool " + name + " has no replica " + ruuid);
        }
        return rep;
    }

    private <T> CompletableFuture<T> enqueue(Op op, CompletableFuture<T> f) {
        if (stopped || !thread.isAlive() && started.isDone()) {
            f.completeExceptionally(new EngineException(Reason.NOT_FOUND, "pool " + name + " is closed"));
            return f;
        }
        queue.add(op);
        return f;
    }

    private EngineException faulted() {
        return new EngineException(Reason.IO_ERROR, "pool " + name + " is faulted (" + faultedWhy
                + "): it takes no changes; export and import it");
    }

    CompletableFuture<ReplicaInfo> createReplica(String rname, UUID ruuid, long size, boolean thin, String entity) {
        CompletableFuture<ReplicaInfo> f = new CompletableFuture<>();
        return enqueue(new Answering<ReplicaInfo>(f) {
            @Override
            void apply(Batch b) {
                for (Rep r : model.replicas()) {
                    if (r.name.equals(rname) || r.uuid.equals(ruuid)) {
                        if (r.name.equals(rname) && r.uuid.equals(ruuid) && r.size == size && r.thin == thin) {
                            Rep same = r;
                            b.answers.add(() -> f.complete(infoOf(same)));
                            return;
                        }
                        throw new EngineException(Reason.ALREADY_EXISTS, "replica " + r.name + " (" + r.uuid
                                + ") exists in pool " + name + " with size " + r.size + (r.thin ? ", thin" : ", thick"));
                    }
                }
                int n = Math.toIntExact(PoolModel.clustersOf(size, model.clusterSize));
                List<Run> runs = List.of();
                if (!thin) {
                    runs = model.findFree(0, n);
                    if (runs == null) {
                        throw new EngineException(Reason.NO_SPACE, "pool " + name + " has " + model.freeClusters()
                                + " free clusters of " + model.clusterSize + " bytes; a thick replica of " + size
                                + " bytes needs " + n);
                    }
                }
                Records.Create c = new Records.Create(model.nextId, ruuid, rname, size, thin, null,
                        entity == null ? "" : entity, Map.of(), runs);
                long bytes = Records.replicaSize(c) - 12L * runs.size();
                if (recordBytes + bytes > RECORD_BUDGET) {
                    throw new EngineException(Reason.NO_SPACE, "pool " + name + "'s metadata is full ("
                            + model.replicas().size() + " replicas)");
                }
                model.apply(c);
                recordBytes += bytes;
                b.records.add(c);
                b.zero.addAll(runs);
                b.touched.add(c.id());
                Rep rep = model.replica(c.id());
                EngineException[] unregistered = new EngineException[1];
                b.publish.add(() -> {
                    try {
                        register(rep);
                    } catch (RuntimeException e) {
                        unregistered[0] = EngineException.of(e);
                        LOG.log(System.Logger.Level.ERROR, "pool {0}: replica {1} has no bdev: {2}", name, rname,
                                e.getMessage());
                    }
                });
                b.answers.add(() -> {
                    if (unregistered[0] != null) {
                        f.completeExceptionally(unregistered[0]);
                    } else {
                        f.complete(infoOf(rep));
                    }
                });
            }
        }, f);
    }

    CompletableFuture<Void> destroyReplica(UUID ruuid) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        return enqueue(new Answering<Void>(f) {
            Rep rep;
            EngineException refused;

            @Override
            void prepare(Lvs lvs) {
                rep = byUuid(ruuid);
                Lvol lvol = rep == null ? null : lvols.get(rep.id);
                if (lvol != null) {
                    // its channels close (their IO ends) before its clusters are free
                    try {
                        bdevs.unregisterOwned(lvol).join();
                        lvols.remove(rep.id);
                    } catch (RuntimeException e) {
                        refused = EngineException.of(e);
                    }
                }
            }

            @Override
            void apply(Batch b) {
                if (refused != null) {
                    throw refused;
                }
                if (rep == null || model.replica(rep.id) == null) {
                    throw new EngineException(Reason.NOT_FOUND, "pool " + name + " has no replica " + ruuid);
                }
                for (int p : rep.map) {
                    if (p != PoolModel.UNMAPPED) {
                        b.unmap.add(p);
                    }
                }
                model.apply(new Records.Destroy(rep.id));
                recordBytes -= Records.replicaSize(PoolModel.asRecord(rep)) - 12L * PoolModel.asRecord(rep).runs().size();
                b.records.add(new Records.Destroy(rep.id));
                int id = rep.id;
                b.publish.add(() -> infos.remove(id));
                b.answers.add(() -> f.complete(null));
            }
        }, f);
    }

    CompletableFuture<ReplicaInfo> resizeReplica(UUID ruuid, long size) {
        CompletableFuture<ReplicaInfo> f = new CompletableFuture<>();
        return enqueue(new Answering<ReplicaInfo>(f) {
            @Override
            void apply(Batch b) {
                Rep rep = required(ruuid);
                if (size < rep.size) {
                    throw new EngineException(Reason.INVALID_ARGUMENT, "replica " + rep.name + " is " + rep.size
                            + " bytes; it cannot shrink to " + size + " (replicas only grow)");
                }
                if (size == rep.size) {
                    b.answers.add(() -> f.complete(infoOf(rep)));
                    return;
                }
                int have = rep.map.length;
                int n = Math.toIntExact(PoolModel.clustersOf(size, model.clusterSize));
                List<Run> runs = List.of();
                if (!rep.thin && n > have) {
                    runs = model.findFree(have, n - have);
                    if (runs == null) {
                        throw new EngineException(Reason.NO_SPACE, "pool " + name + " has " + model.freeClusters()
                                + " free clusters; growing thick replica " + rep.name + " needs " + (n - have));
                    }
                }
                Records.Resize z = new Records.Resize(rep.id, size, runs);
                model.apply(z);
                b.records.add(z);
                b.zero.addAll(runs);
                b.touched.add(rep.id);
                b.publish.add(() -> {
                    Lvol lvol = lvols.get(rep.id);
                    if (lvol != null) {
                        lvol.resized(size, rep.map);
                    }
                });
                b.answers.add(() -> f.complete(infoOf(rep)));
            }
        }, f);
    }

    CompletableFuture<ReplicaInfo> setProperties(UUID ruuid, Map<String, String> changes) {
        CompletableFuture<ReplicaInfo> f = new CompletableFuture<>();
        return enqueue(new Answering<ReplicaInfo>(f) {
            @Override
            void apply(Batch b) {
                Rep rep = required(ruuid);
                Map<String, String> next = new LinkedHashMap<>(rep.props);
                for (Map.Entry<String, String> e : changes.entrySet()) {
                    if (e.getValue() == null) {
                        next.remove(e.getKey());
                    } else {
                        next.put(e.getKey(), e.getValue());
                    }
                }
                if (next.equals(rep.props)) {
                    b.answers.add(() -> f.complete(infoOf(rep)));
                    return;
                }
                Records.Props p = new Records.Props(rep.id, next);
                long before = Records.replicaSize(PoolModel.asRecord(rep));
                model.apply(p);
                long delta = Records.replicaSize(PoolModel.asRecord(rep)) - before;
                if (recordBytes + delta > RECORD_BUDGET || Records.size(p) > 60_000) {
                    model.apply(new Records.Props(rep.id, Map.copyOf(rep.props)));
                    throw new EngineException(Reason.NO_SPACE, "pool " + name + "'s metadata has no room for these properties");
                }
                recordBytes += delta;
                b.records.add(p);
                b.touched.add(rep.id);
                b.answers.add(() -> f.complete(infoOf(rep)));
            }
        }, f);
    }

    CompletableFuture<PoolInfo> grow() {
        CompletableFuture<PoolInfo> f = new CompletableFuture<>();
        return enqueue(new Answering<PoolInfo>(f) {
            @Override
            void apply(Batch b) {
                long blocks = md.disk().rescan();
                long n = layout.clustersFor(blocks * md.disk().blockSize());
                if (n > model.clusters) {
                    Records.Grow g = new Records.Grow(n);
                    model.apply(g);
                    b.records.add(g);
                }
                b.answers.add(() -> f.complete(info));
            }
        }, f);
    }

    /** Data path: logical cluster {@code l} of {@code lvol} needs a cluster; {@code reply} gets an IoStatus, off the reactor. */
    void requestCluster(Lvol lvol, int l, boolean zero, IntConsumer reply) {
        Op op = new Op() {
            @Override
            void apply(Batch b) {
                Rep rep = model.replica(lvol.id);
                if (rep == null) {
                    b.answers.add(() -> reply.accept(IoStatus.ABORTED));
                    return;
                }
                if (l >= rep.map.length) {
                    b.answers.add(() -> reply.accept(IoStatus.OUT_OF_RANGE));
                    return;
                }
                if (rep.map[l] == PoolModel.UNMAPPED) {
                    int p = model.findFree();
                    if (p < 0) {
                        b.answers.add(() -> reply.accept(IoStatus.NO_SPACE));
                        return;
                    }
                    Records.Alloc a = new Records.Alloc(rep.id, l, p);
                    model.apply(a);
                    b.records.add(a);
                    if (zero) {
                        b.zero.add(new Run(l, p, 1));
                    }
                    b.touched.add(rep.id);
                    b.publish.add(() -> lvol.publish(l, p));
                }
                b.answers.add(() -> reply.accept(IoStatus.SUCCESS));
            }

            @Override
            void fail(EngineException e) {
                reply.accept(e.reason() == Reason.NO_SPACE ? IoStatus.NO_SPACE : IoStatus.IO_ERROR);
            }
        };
        if (stopped) {
            reply.accept(IoStatus.ABORTED);
            return;
        }
        queue.add(op);
    }

    /** Data path: logical clusters {@code ls} of {@code lvol} were trimmed whole; give them back. */
    void requestFree(Lvol lvol, int[] ls, IntConsumer reply) {
        Op op = new Op() {
            @Override
            void prepare(Lvs lvs) {
                for (int l : ls) {
                    lvol.publish(l, PoolModel.UNMAPPED);
                }
                List<CompletableFuture<Void>> waits = new ArrayList<>();
                for (Lvol.Channel c : lvol.channels()) {
                    CompletableFuture<Void> w = new CompletableFuture<>();
                    try {
                        c.reactor().execute(() -> c.barrier(w));
                        waits.add(w);
                    } catch (java.util.concurrent.RejectedExecutionException e) {
                        // its reactor stopped: nothing in flight there
                    }
                }
                CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new)).join();
            }

            @Override
            void apply(Batch b) {
                Rep rep = model.replica(lvol.id);
                if (rep == null) {
                    b.answers.add(() -> reply.accept(IoStatus.ABORTED));
                    return;
                }
                List<Integer> mine = new ArrayList<>();
                for (int l : ls) {
                    if (l < rep.map.length && rep.map[l] != PoolModel.UNMAPPED && !mine.contains(l)) {
                        mine.add(l);
                        b.unmap.add(rep.map[l]);
                    }
                }
                if (!mine.isEmpty()) {
                    Records.Free fr = new Records.Free(rep.id, mine.stream().mapToInt(Integer::intValue).toArray());
                    model.apply(fr);
                    b.records.add(fr);
                    b.touched.add(rep.id);
                }
                b.answers.add(() -> reply.accept(IoStatus.SUCCESS));
            }

            @Override
            void fail(EngineException e) {
                reply.accept(IoStatus.IO_ERROR);
            }
        };
        if (stopped) {
            reply.accept(IoStatus.ABORTED);
            return;
        }
        queue.add(op);
    }

    /**
     * Stops the metadata thread after what is queued, unregisters and closes the replicas'
     * bdevs and, if {@code wipe}, erases the pool from its disk. The claim is the caller's to
     * release. Blocking.
     */
    void close(boolean wipe) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        queue.add(new Op() {
            @Override
            void apply(Batch b) {
                stopped = true;
                b.answers.add(() -> f.complete(null));
            }

            @Override
            void fail(EngineException e) {
                stopped = true;
                f.complete(null);
            }
        });
        f.join();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<CompletableFuture<Void>> closes = new ArrayList<>();
        for (Lvol lvol : lvols.values()) {
            closes.add(bdevs.unregisterOwned(lvol).exceptionally(t -> null));
        }
        CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new)).join();
        lvols.clear();
        infos.clear();
        // anything that came in after the stop is refused
        for (Op op; (op = queue.poll()) != null; ) {
            op.fail(new EngineException(Reason.NOT_FOUND, "pool " + name + " is closed"));
        }
        if (wipe) {
            md.writeZeroes(0, layout.dataStart());
            md.flush();
            try {
                md.unmap(layout.dataStart(), model.clusters * layout.clusterSize());
            } catch (EngineException e) {
                LOG.log(System.Logger.Level.DEBUG, "pool {0}: unmapping its data on destroy: {1}", name, e.getMessage());
            }
        }
        arena.close();
    }

    BdevClaim claim() {
        return claim;
    }

    String diskUri() {
        return diskUri;
    }

    /** The bdev of replica {@code ruuid}, or null. */
    Lvol lvol(UUID ruuid) {
        for (Lvol l : lvols.values()) {
            if (l.uuid().equals(ruuid)) {
                return l;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ the metadata thread

    private void loop() {
        List<Op> batch = new ArrayList<>(BATCH);
        while (!stopped) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                return;
            }
            queue.drainTo(batch, BATCH - 1);
            try {
                run(batch);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "pool " + name + ": a metadata batch failed", e);
            }
            batch.clear();
        }
    }

    private void run(List<Op> ops) {
        if (state == PoolState.FAULTED) {
            for (Op op : ops) {
                op.fail(faulted());
                if (stopped) {
                    break;
                }
            }
            // a stop op among them still stops the thread
            return;
        }
        for (Op op : ops) {
            try {
                op.prepare(this);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "pool {0}: preparing a change: {1}", name, e.toString());
            }
        }
        Batch b = new Batch();
        List<Op> applied = new ArrayList<>();
        for (Op op : ops) {
            try {
                op.apply(b);
                applied.add(op);
            } catch (EngineException e) {
                op.fail(e);
            } catch (PoolModel.Corrupt e) {
                op.fail(new EngineException(Reason.INTERNAL, "pool " + name + ": " + e.getMessage()));
            }
        }
        try {
            commit(b);
        } catch (RuntimeException e) {
            EngineException ee = EngineException.of(e);
            state = PoolState.FAULTED;
            faultedWhy = ee.getMessage();
            LOG.log(System.Logger.Level.ERROR, "pool {0} is faulted: {1}", name, ee.getMessage());
            refreshInfo(null);
            for (Op op : applied) {
                op.fail(new EngineException(Reason.IO_ERROR, "pool " + name + ": the change did not reach the disk: "
                        + ee.getMessage(), ee));
            }
            return;
        }
        for (Runnable r : b.publish) {
            r.run();
        }
        refreshInfo(b.touched);
        for (Runnable r : b.answers) {
            r.run();
        }
    }

    private void commit(Batch b) {
        for (Run r : b.zero) {
            md.writeZeroes(layout.clusterOffset(r.pstart()), r.count() * layout.clusterSize());
        }
        if (!b.records.isEmpty()) {
            if (!b.zero.isEmpty()) {
                md.flush();
            }
            appendOrCheckpoint(b.records);
        }
        // Only once the records are durable: a replica whose destroy (or a trim that) did not reach the disk keeps
        // its data. A cluster this batch freed and allocated again is not unmapped: it was zeroed for its new owner
        // (a device need not read zeroes from deallocated blocks), or is about to be written whole.
        for (int p : b.unmap) {
            if (model.isUsed(p)) {
                continue;
            }
            try {
                md.unmap(layout.clusterOffset(p), layout.clusterSize());
            } catch (EngineException e) {
                // giving space back to the disk is best effort; the cluster is free in the metadata regardless
                LOG.log(System.Logger.Level.DEBUG, "pool {0}: unmap of cluster {1}: {2}", name, p, e.getMessage());
            }
        }
    }

    private void appendOrCheckpoint(List<Record> records) {
        int bytes = 0;
        for (Record r : records) {
            bytes += Records.size(r);
        }
        int pages = MetaCodec.pagesFor(bytes);
        if (logSeq + pages > layout.logPages()) {
            checkpoint();
            return;
        }
        ByteBuffer pagesBuf = MetaCodec.encodeLog(records, epoch, logSeq);
        MemorySegment out = arena.allocate(pagesBuf.capacity(), Layout.PAGE);
        out.asByteBuffer().put(pagesBuf);
        md.write(layout.logStart() + (long) logSeq * Layout.PAGE, out);
        md.flush();
        logSeq += pages;
    }

    /** Writes the whole model as a checkpoint of the next epoch into the idle slot, flushes; the log starts over. */
    private void checkpoint() {
        int next = slot ^ 1;
        writeCheckpointTo(next, epoch + 1);
        md.flush();
        slot = next;
        epoch++;
        logSeq = 0;
    }

    private void writeCheckpointTo(int s, long e) {
        List<Records.Create> reps = new ArrayList<>();
        for (Rep r : model.replicas()) {
            reps.add(PoolModel.asRecord(r));
        }
        ByteBuffer img = MetaCodec.encodeCheckpoint(new Checkpoint(e, model.clusters, model.nextId, reps),
                layout.slotBytes());
        if (img == null) {
            throw new EngineException(Reason.NO_SPACE, "pool " + name + "'s metadata does not fit its checkpoint slot");
        }
        try (Arena a = Arena.ofShared()) {   // shared: a bdev may touch the buffers on its reactor (malloc copies them)
            MemorySegment out = a.allocate(img.capacity(), Layout.PAGE);
            out.asByteBuffer().put(img);
            md.write(s == 0 ? layout.slotA() : layout.slotB(), out);
        }
    }

    private Rep byUuid(UUID u) {
        for (Rep r : model.replicas()) {
            if (r.uuid.equals(u)) {
                return r;
            }
        }
        return null;
    }

    private ReplicaInfo infoOf(Rep r) {
        ReplicaInfo i = infos.get(r.id);
        return i != null ? i : toInfo(r);
    }

    private ReplicaInfo toInfo(Rep r) {
        return new ReplicaInfo(r.name, r.uuid, name, uuid, r.size, r.thin, (long) r.allocated * model.clusterSize,
                r.entity, Map.copyOf(r.props));
    }

    private void refreshInfo(Set<Integer> touched) {
        long committed = 0;
        for (Rep r : model.replicas()) {
            if (touched == null || touched.contains(r.id)) {
                infos.put(r.id, toInfo(r));
            }
            committed += r.size;
        }
        long cs = model.clusterSize;
        info = new PoolInfo(name, uuid, diskUri, md.disk().name(), state, model.clusters * cs, (long) model.usedClusters() * cs, committed,
                cs, md.disk().blockSize(), model.clusters, model.clusterLimit, model.replicas().size());
    }
}
