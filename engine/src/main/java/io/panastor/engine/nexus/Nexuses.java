package io.panastor.engine.nexus;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.error.EngineException.Reason;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import io.panastor.engine.rebuild.RebuildJob;
import io.panastor.engine.rebuild.RebuildKind;
import io.panastor.engine.rebuild.RebuildStats;
import io.panastor.engine.rebuild.Rebuilds;
import java.time.Clock;
import java.time.Duration;
import java.util.BitSet;

/**
 * The nexuses of an engine, by name, and their lifecycle: create, destroy, shutdown, resize,
 * publish and unpublish, and their children (add, remove, fault, online, offline). Each
 * operation runs on a virtual thread of its own (it waits for devices, channels and the
 * health store) and answers once its change is in effect on every reactor and its child
 * health is persisted. Operations on one nexus run one at a time.
 *
 * <p>Nexuses are not recreated after a restart: their owner (the control plane) does that,
 * reading the child health they persisted to choose fresh children.
 *
 * <p>Thread-safety: any thread.
 */
public final class Nexuses implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Nexuses.class.getName());
    /** What a nexus adds to an {@code nvmf://} child's URI when it does not say: IO and controller-loss timeouts. */
    public static final long CHILD_IO_TIMEOUT_MS = 10_000;
    public static final long CHILD_CTRLR_LOSS_TIMEOUT_MS = 10_000;

    private final Bdevs bdevs;
    private final NvmfTarget target;
    private volatile HealthStore store = HealthStore.inMemory();
    private final Map<String, Nexus> byName = new LinkedHashMap<>();
    private final Set<String> pending = new HashSet<>();
    /** The child-health keys of the nexuses being created: a key names one nexus's record. */
    private final Set<String> pendingKeys = new HashSet<>();
    private final ExecutorService ops = Executors.newVirtualThreadPerTaskExecutor();
    private final Rebuilds rebuilds;
    /** What dirty logs and rebuild jobs tell the time by (a test's own clock). */
    private volatile Clock clock = Clock.systemUTC();
    /** How long a child that left keeps its dirty log: back within it, a partial rebuild does. */
    private volatile Duration partialWindow = DEFAULT_PARTIAL_REBUILD_WINDOW;
    private volatile long segmentBytes = RebuildJob.DEFAULT_SEGMENT_BYTES;
    private volatile int rebuildTasks = RebuildJob.DEFAULT_TASKS;

    /** Mayastor's default wait for a child to come back before it is rebuilt in full. */
    public static final Duration DEFAULT_PARTIAL_REBUILD_WINDOW = Duration.ofMinutes(10);
    /** Most segments a dirty log has: a bigger nexus gets bigger segments. */
    static final long MAX_LOG_SEGMENTS = 1L << 23;

    public Nexuses(Bdevs bdevs, NvmfTarget target, Rebuilds rebuilds) {
        this.bdevs = bdevs;
        this.target = target;
        this.rebuilds = rebuilds;
    }

    public Rebuilds rebuilds() {
        return rebuilds;
    }

    /** The clock dirty logs are started by and rebuild times are told by. */
    public void clock(Clock clock) {
        this.clock = clock;
    }

    /** How long after a child left a partial rebuild may bring it back (after that: a full one). */
    public void partialRebuildWindow(Duration window) {
        if (window.isNegative()) {
            throw new IllegalArgumentException("the partial rebuild window cannot be negative: " + window);
        }
        this.partialWindow = window;
    }

    public Duration partialRebuildWindow() {
        return partialWindow;
    }

    /** The smallest rebuild segment (and dirty-log granule) of nexuses created from now on, and segments in flight. */
    public void rebuildSegments(long bytes, int tasks) {
        if (bytes <= 0 || Long.bitCount(bytes) != 1 || tasks <= 0) {
            throw new IllegalArgumentException("a rebuild segment is a power of two bytes and a job has tasks, got "
                    + bytes + " and " + tasks);
        }
        this.segmentBytes = bytes;
        this.rebuildTasks = tasks;
    }

    /** Where child health is persisted from now on (the engine's state directory); in memory until set. */
    public void healthStore(HealthStore store) {
        this.store = store;
    }

    public HealthStore healthStore() {
        return store;
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Creates a nexus over {@code spec}'s children: opens each (an existing bdev, or one made
     * from its URI), claims it, checks it is at least the nexus's size with the same block
     * size, persists the children's health (all healthy) and registers the nexus's bdev.
     * Idempotent for an identical spec. Refused: a bad spec (INVALID_ARGUMENT), a name, UUID or
     * child-health key taken (ALREADY_EXISTS), a child missing (NOT_FOUND) or claimed (BUSY). A failure leaves
     * nothing behind.
     */
    public CompletableFuture<NexusInfo> create(NexusSpec spec) {
        String bad = check(spec);
        if (bad != null) {
            return failed(Reason.INVALID_ARGUMENT, bad);
        }
        synchronized (this) {
            Nexus n = byName.get(spec.name());
            if (n != null) {
                NexusInfo i = n.info();
                List<String> uris = i.children().stream().map(ChildInfo::uri).toList();
                if (i.uuid().equals(spec.uuid()) && i.sizeBytes() == spec.sizeBytes()
                        && new HashSet<>(uris).equals(new HashSet<>(spec.children()))) {
                    return CompletableFuture.completedFuture(i);
                }
                return failed(Reason.ALREADY_EXISTS, "nexus " + spec.name() + " exists with uuid " + i.uuid() + ", size "
                        + i.sizeBytes() + " and children " + uris + "; destroy it first or use another name");
            }
            for (Nexus other : byName.values()) {
                if (other.uuid().equals(spec.uuid())) {
                    return failed(Reason.ALREADY_EXISTS, "uuid " + spec.uuid() + " is nexus " + other.name() + "'s");
                }
                if (other.infoKey.equals(spec.key())) {
                    return failed(Reason.ALREADY_EXISTS, "nexus " + other.name() + " keeps its child health under key "
                            + spec.key() + "; each nexus needs its own");
                }
            }
            if (pending.contains(spec.name())) {
                return failed(Reason.BUSY, "nexus " + spec.name() + " is being created");
            }
            if (!pendingKeys.add(spec.key())) {
                return failed(Reason.BUSY, "a nexus keeping its child health under key " + spec.key()
                        + " is being created");
            }
            pending.add(spec.name());
        }
        return async(() -> {
            try {
                return doCreate(spec);
            } finally {
                synchronized (this) {
                    pending.remove(spec.name());
                    pendingKeys.remove(spec.key());
                }
            }
        });
    }

    private static String check(NexusSpec spec) {
        if (spec == null || spec.name() == null || spec.name().isBlank() || spec.name().contains("/")) {
            return "a nexus needs a name without '/'";
        }
        if (spec.uuid() == null) {
            return "nexus " + spec.name() + " needs a uuid";
        }
        if (spec.sizeBytes() <= 0) {
            return "nexus " + spec.name() + " needs a size above 0, got " + spec.sizeBytes();
        }
        if (spec.children().isEmpty()) {
            return "nexus " + spec.name() + " needs at least one child URI";
        }
        if (spec.children().size() > Nexus.MAX_CHILDREN) {
            return "nexus " + spec.name() + " may have at most " + Nexus.MAX_CHILDREN + " children";
        }
        if (new HashSet<>(spec.children()).size() != spec.children().size()) {
            return "nexus " + spec.name() + " names a child twice: " + spec.children();
        }
        return null;
    }

    private NexusInfo doCreate(NexusSpec spec) throws IOException {
        List<NexusChild> opened = new ArrayList<>();
        Nexus nexus = null;
        Optional<HealthRecord> record = store.load(spec.key());
        try {
            int blockSize = 0;
            int alignment = 1;
            for (int id = 0; id < spec.children().size(); id++) {
                NexusChild c = new NexusChild(spec.children().get(id), id, ChildState.OPEN, ChildReason.NONE);
                open(c, spec.name());
                opened.add(c);
                Bdev b = c.bdev;
                if (blockSize == 0) {
                    blockSize = b.blockSize();
                } else if (b.blockSize() != blockSize) {
                    throw new EngineException(Reason.INVALID_ARGUMENT, "child " + c.uri + " has " + b.blockSize()
                            + "-byte blocks, the others " + blockSize);
                }
                alignment = Math.max(alignment, b.bufferAlignment());
                checkSize(c, spec.sizeBytes());
            }
            if (spec.sizeBytes() % blockSize != 0) {
                throw new EngineException(Reason.INVALID_ARGUMENT, "nexus size " + spec.sizeBytes()
                        + " is not a multiple of its children's block size " + blockSize);
            }
            long segmentBlocks = segmentBlocks(spec.sizeBytes(), blockSize);
            if (record.isPresent()) {
                fromRecord(spec, record.get(), opened, segmentBlocks, spec.sizeBytes() / blockSize);
            }
            nexus = new Nexus(spec.name(), spec.uuid(), spec.sizeBytes(), blockSize, alignment, spec.key(), store, opened,
                    segmentBlocks, () -> clock.millis());
            for (NexusChild c : opened) {
                listen(nexus, c);
            }
            bdevs.registerOwned(nexus, "nexus");
            try {
                nexus.persistNow();
            } catch (IOException | RuntimeException e) {
                await(bdevs.unregisterOwned(nexus));
                throw e;
            }
            synchronized (this) {
                byName.put(spec.name(), nexus);
            }
            LOG.log(System.Logger.Level.INFO, "nexus {0} created: {1} bytes over {2}", spec.name(), spec.sizeBytes(),
                    spec.children());
            synchronized (nexus.operations) {
                for (NexusChild c : nexus.children()) {
                    if (c.state == ChildState.OUT_OF_SYNC) {
                        startJob(nexus, c);
                    }
                }
            }
            return nexus.info();
        } catch (IOException | RuntimeException e) {
            if (nexus != null) {
                nexus.stopPersister();
            }
            for (NexusChild c : opened) {
                close(c);
            }
            throw e;
        }
    }

    /**
     * Sets the children's states from the health record a nexus of this key persisted before
     * (a restart, a nexus made again): those it calls healthy are healthy; the others are out
     * of sync and will be rebuilt, partially when the record is of a clean shutdown, has the
     * child's dirty log for this geometry, and the child left within the window; else in full.
     * With no child healthy in the record the nexus has no copy of its data to serve: refused.
     */
    private void fromRecord(NexusSpec spec, HealthRecord record, List<NexusChild> opened, long segmentBlocks,
                            long blockCount) {
        boolean anyHealthy = false;
        long now = clock.millis();
        for (NexusChild c : opened) {
            HealthRecord.ChildHealth h = null;
            for (HealthRecord.ChildHealth e : record.children()) {
                if (sameDevice(e.uuid(), c)) {
                    h = e;
                    break;
                }
            }
            // Matched by its device's UUID: the same URI on another device (a new replica) has none of the data.
            if (h != null && h.healthy()) {
                anyHealthy = true;
                continue;
            }
            c.set(ChildState.OUT_OF_SYNC, ChildReason.OUT_OF_SYNC);
            HealthRecord.Log log = h == null ? null : h.log();
            if (log != null && record.cleanShutdown() && log.segmentBlocks() == segmentBlocks
                    && log.blockCount() == blockCount
                    && now - log.sinceMillis() <= partialWindow.toMillis()) {
                c.log = new DirtyLog(log.sinceMillis(), segmentBlocks, blockCount, log.dirty());
            }
        }
        if (!anyHealthy) {
            throw new EngineException(Reason.BUSY, "no child of nexus " + spec.name() + " is healthy in the child "
                    + "health record under key " + spec.key() + " (" + record.children().size()
                    + " recorded): create it with a child the record calls healthy");
        }
    }

    private static boolean sameDevice(String uuid, NexusChild c) {
        return uuid.equalsIgnoreCase(String.valueOf(c.uuid));
    }

    /** Blocks per segment: the configured size, or more for a nexus a log of that would not fit. */
    private long segmentBlocks(long sizeBytes, int blockSize) {
        long seg = Math.max(segmentBytes, blockSize);
        while (sizeBytes / seg > MAX_LOG_SEGMENTS) {
            seg <<= 1;
        }
        return seg / blockSize;
    }

    /**
     * Destroys nexus {@code key} (name or UUID): unpublishes it, lets the IO in flight end,
     * persists a clean shutdown, closes its children (destroying the bdevs it made for them)
     * and removes its bdev. Its persisted child health stays for its owner.
     */
    public CompletableFuture<Void> destroy(String key) {
        return withNexus(key, n -> {
            try {
                shutdownIo(n);
            } catch (HealthStore.Fenced e) {
                // Published elsewhere since: this nexus's word on its children counts no more.
                LOG.log(System.Logger.Level.WARNING, "nexus {0}: destroyed without a clean-shutdown record: {1}",
                        n.name(), e.getMessage());
            }
            await(bdevs.unregisterOwned(n));
            n.stopPersister();
            for (NexusChild c : n.children()) {
                close(c);
            }
            synchronized (this) {
                byName.remove(n.name());
            }
            LOG.log(System.Logger.Level.INFO, "nexus {0} destroyed", n.name());
            return null;
        });
    }

    /** Shuts nexus {@code key} down: unpublished, no new IO, IO in flight ended, a clean shutdown persisted. */
    public CompletableFuture<NexusInfo> shutdown(String key) {
        return withNexus(key, n -> {
            shutdownIo(n);
            return n.info();
        });
    }

    private void shutdownIo(Nexus n) throws IOException {
        for (NexusChild c : n.rebuilding()) {
            stopJob(c, "nexus " + n.name() + " is shutting down");
        }
        unpublish(n);
        if (!n.isShuttingDown()) {
            n.closeToIo();
        }
        await(n.drainChannels());
        n.markDrained();
        n.persistNow();
        n.markShutDown();
    }

    /**
     * Grows nexus {@code key} to {@code sizeBytes}, after its children grew (a child smaller
     * than that is rescanned first: a remote one asks its controller), and tells the hosts
     * connected to it (a namespace attribute notice). A nexus does not shrink.
     */
    public CompletableFuture<NexusInfo> resize(String key, long sizeBytes) {
        return withNexus(key, n -> {
            live(n);
            if (sizeBytes < n.sizeBytes()) {
                throw new EngineException(Reason.INVALID_ARGUMENT, "nexus " + n.name() + " is " + n.sizeBytes()
                        + " bytes and does not shrink (asked for " + sizeBytes + ")");
            }
            if (sizeBytes % n.blockSize() != 0) {
                throw new EngineException(Reason.INVALID_ARGUMENT, "size " + sizeBytes
                        + " is not a multiple of the block size " + n.blockSize());
            }
            for (NexusChild c : n.children()) {
                if (c.bdev != null) {
                    if (c.bdev.sizeBytes() < sizeBytes) {
                        c.bdev.rescan();    // a remote replica that grew: its initiator learns the new size
                    }
                    checkSize(c, sizeBytes);
                }
            }
            if (sizeBytes > n.sizeBytes()) {
                n.grow(sizeBytes / n.blockSize());
                String nqn = n.nqn();
                if (nqn != null) {
                    target.namespaceChanged(nqn, 1);
                }
            }
            return n.info();
        });
    }

    // ------------------------------------------------------------------ publishing

    /**
     * Publishes nexus {@code key} over NVMe/TCP as subsystem {@code nqn}, its bdev namespace 1,
     * to {@code hosts} (none: any host) on every listener. Publishing again as the same NQN
     * sets the allowed hosts, disconnecting those no longer in it; as another NQN it is
     * ALREADY_EXISTS.
     */
    public CompletableFuture<NexusInfo> publish(String key, String nqn, List<String> hosts) {
        return withNexus(key, n -> {
            live(n);
            String current = n.nqn();
            if (current != null && !current.equals(nqn)) {
                throw new EngineException(Reason.ALREADY_EXISTS, "nexus " + n.name() + " is published as " + current
                        + "; unpublish it first");
            }
            if (current == null) {
                target.createSubsystem(nqn, serial(n), "Panastor nexus", hosts.isEmpty(), hosts);
                try {
                    target.addNamespace(nqn, n.name(), 1);
                } catch (RuntimeException e) {
                    target.destroySubsystem(nqn);
                    throw e;
                }
            } else {
                target.setAllowedHosts(nqn, hosts);
            }
            n.published(nqn, hosts);
            return n.info();
        });
    }

    /** Takes nexus {@code key}'s subsystem down (its hosts disconnected); nothing to do when unpublished. */
    public CompletableFuture<NexusInfo> unpublish(String key) {
        return withNexus(key, n -> {
            unpublish(n);
            return n.info();
        });
    }

    private void unpublish(Nexus n) {
        String nqn = n.nqn();
        if (nqn != null) {
            try {
                target.destroySubsystem(nqn);
            } catch (EngineException e) {
                if (e.reason() != Reason.NOT_FOUND) {
                    throw e;
                }
            }
            n.published(null, List.of());
        }
    }

    private static String serial(Nexus n) {
        return n.uuid().toString().replace("-", "").substring(0, 20);
    }

    // ------------------------------------------------------------------ children

    /**
     * Adds child {@code uri} to nexus {@code key}: opened, claimed and checked as at create.
     * It takes writes from now on and no reads (OUT_OF_SYNC) until a full rebuild, started
     * now unless {@code noRebuild} (then StartRebuild starts it), has copied the data into it.
     * Idempotent for a child the nexus has.
     */
    public CompletableFuture<NexusInfo> addChild(String key, String uri, boolean noRebuild) {
        return withNexus(key, n -> {
            live(n);
            if (uri == null || uri.isBlank()) {
                throw new EngineException(Reason.INVALID_ARGUMENT, "a child URI is required");
            }
            if (n.child(uri) != null) {
                return n.info();
            }
            int id = n.freeChildId();
            if (id < 0) {
                throw new EngineException(Reason.RESOURCE_EXHAUSTED, "nexus " + n.name() + " has "
                        + Nexus.MAX_CHILDREN + " children already");
            }
            NexusChild c = new NexusChild(uri, id, ChildState.OUT_OF_SYNC, ChildReason.OUT_OF_SYNC);
            open(c, n.name());
            try {
                checkFits(n, c);
                n.add(c);
                listen(n, c);
                await(n.syncChannels());
                n.persistNow();
            } catch (IOException | RuntimeException e) {
                n.remove(c);
                try {
                    await(n.quiesce(c));    // the channels may have sent it writes already
                } catch (RuntimeException q) {
                    e.addSuppressed(q);
                }
                close(c);
                throw e;
            }
            if (!noRebuild) {
                startJob(n, c);
            }
            return n.info();
        });
    }

    /** Removes child {@code uri} from nexus {@code key} once no IO is on it; the last healthy child stays (BUSY). */
    public CompletableFuture<NexusInfo> removeChild(String key, String uri) {
        return withNexus(key, n -> {
            live(n);
            NexusChild c = childOf(n, uri);
            stopJob(c, "child " + uri + " is being removed");
            synchronized (n) {     // with the check: an IO fault of the other healthy child cannot come between
                refuseLastHealthy(n, c, "remove");
                n.remove(c);
            }
            await(n.quiesce(c));
            try {
                n.persistNow();
            } finally {
                close(c);   // no longer a child, persisted or not: nothing may keep it claimed
            }
            return n.info();
        });
    }

    /** Faults child {@code uri} of nexus {@code key} on the client's request; the last healthy child stays (BUSY). */
    public CompletableFuture<NexusInfo> faultChild(String key, String uri) {
        return childOperation(key, uri, ChildAction.OFFLINE_PERMANENT);
    }

    /**
     * Takes child {@code uri} of nexus {@code key} offline (for now: it keeps a dirty log; or
     * for good: faulted by the client) or back online: it takes writes again and is rebuilt,
     * partially when it kept a log, is back on the same device within the window and the
     * nexus has not grown since; in full otherwise. Taking the last healthy child out is
     * refused (BUSY). Online of a child out of sync with no rebuild starts one.
     */
    public CompletableFuture<NexusInfo> childOperation(String key, String uri, ChildAction action) {
        return withNexus(key, n -> {
            live(n);
            NexusChild c = childOf(n, uri);
            switch (action) {
                case OFFLINE, OFFLINE_PERMANENT -> {
                    ChildState to = action == ChildAction.OFFLINE ? ChildState.OFFLINE : ChildState.FAULTED;
                    ChildReason why = action == ChildAction.OFFLINE ? ChildReason.CLOSED : ChildReason.BY_CLIENT;
                    if (c.state == to && c.reason == why) {
                        return n.info();
                    }
                    refuseLastHealthy(n, c, action == ChildAction.OFFLINE ? "take offline" : "fault");
                    stopJob(c, "child " + uri + " is being taken offline");
                    synchronized (n) {     // as in removeChild
                        refuseLastHealthy(n, c, action == ChildAction.OFFLINE ? "take offline" : "fault");
                        n.setState(c, to, why);
                    }
                    await(n.quiesce(c));
                }
                case ONLINE -> {
                    if (c.state.writable()) {
                        if (c.state == ChildState.OUT_OF_SYNC && c.rebuild == null) {
                            startJob(n, c);
                        }
                        return n.info();
                    }
                    await(n.quiesce(c));    // no IO of its last time in the IO path may end after the log is read
                    UUID before = c.uuid;
                    if (c.bdev == null) {
                        open(c, n.name());
                        try {
                            checkFits(n, c);
                        } catch (RuntimeException e) {
                            close(c);
                            throw e;
                        }
                        listen(n, c);
                    }
                    synchronized (n) {
                        DirtyLog log = c.log;
                        if (log != null && (!c.uuid.equals(before) || log.blockCount != n.blockCount()
                                || clock.millis() - log.sinceMillis > partialWindow.toMillis())) {
                            c.log = null;     // another device, a nexus grown since, or away too long: full
                        }
                        n.setState(c, ChildState.OUT_OF_SYNC, ChildReason.OUT_OF_SYNC);
                    }
                    await(n.syncChannels());
                    n.persistNow();
                    startJob(n, c);
                    return n.info();
                }
            }
            n.persistNow();
            return n.info();
        });
    }

    // ------------------------------------------------------------------ rebuilds

    /**
     * Starts a rebuild of child {@code uri} of nexus {@code key}: one out of sync with no job
     * (added with no rebuild, or whose job was stopped). A child with a job already: nothing
     * to do. A healthy child, or one out of the IO path (bring it online), is BUSY.
     */
    public CompletableFuture<NexusInfo> startRebuild(String key, String uri) {
        return withNexus(key, n -> {
            live(n);
            NexusChild c = childOf(n, uri);
            if (c.rebuild != null) {
                return n.info();
            }
            if (c.state != ChildState.OUT_OF_SYNC) {
                throw new EngineException(Reason.BUSY, "child " + uri + " of nexus " + n.name() + " is "
                        + c.state.name().toLowerCase() + (c.state == ChildState.OPEN ? ": nothing to rebuild"
                        : ": bring it online, which rebuilds it"));
            }
            startJob(n, c);
            return n.info();
        });
    }

    /** Stops the rebuild of child {@code uri}: it stays out of sync. NOT_FOUND when it has none. */
    public CompletableFuture<NexusInfo> stopRebuild(String key, String uri) {
        return withNexus(key, n -> {
            NexusChild c = childOf(n, uri);
            job(n, c);
            stopJob(c, "stopped by the client");
            return n.info();
        });
    }

    /** Pauses the rebuild of child {@code uri}; answers once its segments in flight have ended and it is paused. */
    public CompletableFuture<NexusInfo> pauseRebuild(String key, String uri) {
        return withNexus(key, n -> {
            await(job(n, childOf(n, uri)).pause());
            return n.info();
        });
    }

    public CompletableFuture<NexusInfo> resumeRebuild(String key, String uri) {
        return withNexus(key, n -> {
            await(job(n, childOf(n, uri)).resume());
            return n.info();
        });
    }

    /** The rebuild of child {@code uri} of nexus {@code key} now; NOT_FOUND when it has none. */
    public RebuildStats rebuildStats(String key, String uri) {
        Nexus n = find(key);
        if (n == null) {
            throw new EngineException(Reason.NOT_FOUND, "no nexus " + key);
        }
        return job(n, childOf(n, uri)).stats();
    }

    /**
     * The end of child {@code uri}'s rebuild: its job's final stats once it has ended (and its
     * history is saved); with no job now, its last finished one. NOT_FOUND when it had none.
     */
    public CompletableFuture<RebuildStats> rebuildEnd(String key, String uri) {
        Nexus n = find(key);
        if (n == null) {
            return failed(Reason.NOT_FOUND, "no nexus " + key);
        }
        NexusChild c = n.child(uri);
        if (c == null) {
            return failed(Reason.NOT_FOUND, "nexus " + n.name() + " has no child " + uri);
        }
        CompletableFuture<RebuildStats> end = rebuilds.endOf(() -> c.rebuild, n.infoKey, uri);
        return end != null ? end : failed(Reason.NOT_FOUND, "child " + uri + " of nexus " + n.name()
                + " has had no rebuild");
    }

    /** The finished rebuilds of nexus {@code key}, oldest first (kept by its child-health key, across restarts). */
    public List<RebuildStats> rebuildHistory(String key) {
        Nexus n = find(key);
        if (n == null) {
            throw new EngineException(Reason.NOT_FOUND, "no nexus " + key);
        }
        return rebuilds.history(n.infoKey);
    }

    private static RebuildJob job(Nexus n, NexusChild c) {
        RebuildJob j = c.rebuild;
        if (j == null) {
            throw new EngineException(Reason.NOT_FOUND, "child " + c.uri + " of nexus " + n.name()
                    + " has no rebuild running, paused or queued");
        }
        return j;
    }

    /** Starts a rebuild of {@code c} (out of sync, its change persisted): partial when it keeps a log. */
    private void startJob(Nexus n, NexusChild c) {
        BitSet dirty;
        Bdev dest;
        synchronized (n) {
            dirty = c.log == null ? null : c.log.snapshot();
            dest = c.bdev;
        }
        if (dest == null) {
            return;
        }
        NexusRebuild t = new NexusRebuild(n, c, dest, bdevs.reactors().getFirst());
        RebuildJob job = new RebuildJob(t, dirty == null ? RebuildKind.FULL : RebuildKind.PARTIAL, n.blockCount(),
                n.segmentBlocks, dirty, rebuildTasks, clock);
        t.job = job;
        c.rebuild = job;
        rebuilds.submit(job, n.infoKey);
    }

    /** Stops {@code c}'s rebuild, if it has one, and waits for it to end. */
    private static void stopJob(NexusChild c, String why) {
        RebuildJob j = c.rebuild;
        if (j != null) {
            await(j.stop(why));
        }
    }

    /** The nexus's side of one child's rebuild. */
    private final class NexusRebuild implements io.panastor.engine.rebuild.RebuildTarget {
        private final Nexus n;
        private final NexusChild c;
        private final Bdev dest;
        private final io.panastor.reactor.Reactor reactor;
        volatile RebuildJob job;

        NexusRebuild(Nexus n, NexusChild c, Bdev dest, io.panastor.reactor.Reactor reactor) {
            this.n = n;
            this.c = c;
            this.dest = dest;
            this.reactor = reactor;
        }

        @Override
        public String nexusName() {
            return n.name();
        }

        @Override
        public UUID nexusUuid() {
            return n.uuid();
        }

        @Override
        public int blockSize() {
            return n.blockSize();
        }

        @Override
        public int bufferAlignment() {
            return n.bufferAlignment();
        }

        @Override
        public io.panastor.reactor.Reactor reactor() {
            return reactor;
        }

        @Override
        public String destinationUri() {
            return c.uri;
        }

        @Override
        public Bdev destination() {
            return dest;
        }

        @Override
        public Source source(Set<String> excluded) {
            Source remote = null;
            synchronized (n) {
                for (NexusChild o : n.children()) {
                    Bdev b = o.bdev;
                    if (o == c || o.state != ChildState.OPEN || b == null || excluded.contains(o.uri)) {
                        continue;
                    }
                    if (!o.uri.startsWith("nvmf:")) {
                        return new Source(o.uri, b);      // local: no network in the way
                    }
                    if (remote == null) {
                        remote = new Source(o.uri, b);
                    }
                }
            }
            return remote;
        }

        @Override
        public boolean readable(Source s) {
            for (ChildSet.Member m : n.set().members()) {
                if (m.bdev() == s.bdev() && m.child().uri.equals(s.uri())) {
                    return m.readable();
                }
            }
            return false;
        }

        @Override
        public boolean destinationWritable() {
            if (c.rebuild != job) {
                return false;
            }
            for (ChildSet.Member m : n.set().members()) {
                if (m.child() == c && m.bdev() == dest) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public Object lock(long first, long count, Runnable onLocked) {
            return n.lockRange(first, count, reactor, onLocked);
        }

        @Override
        public void unlock(Object lock) {
            n.unlockRange((RangeLock) lock);
        }

        @Override
        public void sourceFailed(Source s, int status, int errno) {
            NexusChild o = n.child(s.uri());
            if (o != null) {
                n.childFailed(o, s.bdev(), NexusChannel.reasonOf(status, errno));
            }
        }

        @Override
        public void destinationFailed(int status, int errno) {
            n.childFailed(c, dest, NexusChannel.reasonOf(status, errno));
        }

        @Override
        public boolean completed() throws IOException {
            synchronized (n) {
                if (c.rebuild != job || c.state != ChildState.OUT_OF_SYNC || c.bdev != dest || n.child(c.uri) != c) {
                    return false;
                }
                n.setState(c, ChildState.OPEN, ChildReason.NONE);
            }
            await(n.syncChannels());
            n.persistNow();
            return true;
        }

        @Override
        public void failed(String why) {
            synchronized (n) {
                if (c.rebuild != job || n.child(c.uri) != c || c.state != ChildState.OUT_OF_SYNC) {
                    return;     // faulted already (its write failed), or no longer this job's
                }
                n.setState(c, ChildState.FAULTED, ChildReason.REBUILD_FAILED);
            }
            try {
                n.persistNow();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "nexus {0}: child {1} faulted after its rebuild failed, not "
                        + "persisted: {2}", n.name(), c.uri, e.getMessage());
            }
        }

        @Override
        public void ended(RebuildJob j) {
            if (c.rebuild == j) {
                c.rebuild = null;
            }
        }
    }

    private static NexusChild childOf(Nexus n, String uri) {
        NexusChild c = n.child(uri);
        if (c == null) {
            throw new EngineException(Reason.NOT_FOUND, "nexus " + n.name() + " has no child " + uri);
        }
        return c;
    }

    private static void refuseLastHealthy(Nexus n, NexusChild c, String what) {
        synchronized (n) {
            if (c.state == ChildState.OPEN && n.healthyCount() == 1) {
                throw new EngineException(Reason.BUSY, "cannot " + what + " child " + c.uri + ": it is the last healthy"
                        + " child of nexus " + n.name());
            }
        }
    }

    private static void live(Nexus n) {
        if (n.isShuttingDown()) {
            throw new EngineException(Reason.BUSY, "nexus " + n.name() + " is shut down: destroy it");
        }
    }

    // ------------------------------------------------------------------ devices

    /**
     * Opens {@code c}'s device from its URI and claims it for nexus {@code nexusName}; a
     * hot-remove of it reaches the nexus once {@link #listen} has named it.
     */
    private void open(NexusChild c, String nexusName) {
        BdevUri u;
        try {
            u = BdevUri.parse(c.uri);
        } catch (RuntimeException e) {
            throw EngineException.of(e);
        }
        Bdev b;
        boolean owns;
        if (Bdevs.EXISTING_SCHEME.equals(u.scheme())) {
            u.requireOnly(Set.of("uuid"));
            b = bdevs.get(u.simpleName());
            String want = u.param("uuid");
            if (want != null && !want.equalsIgnoreCase(b.uuid().toString())) {
                throw new EngineException(Reason.INVALID_ARGUMENT, "bdev " + b.name() + " has uuid " + b.uuid()
                        + ", not " + want + " as child " + c.uri + " says");
            }
            owns = false;
            if (bdevs.owner(b.name()).filter("nexus"::equals).isPresent()) {
                throw new EngineException(Reason.INVALID_ARGUMENT, "bdev " + b.name()
                        + " is a nexus: a nexus's children are replicas or devices, not other nexuses");
            }
        } else {
            Set<String> before = new HashSet<>();
            for (Bdev e : bdevs.list()) {
                before.add(e.name());
            }
            b = await(bdevs.createAsync(deviceUri(u)));
            owns = !before.contains(b.name());
        }
        try {
            c.claim = bdevs.claim(b.name(), "nexus " + nexusName, claim -> {
                Nexus owner = c.owner;
                if (owner != null) {
                    owner.childRemoved(c, claim.removedReason());
                }
            });
        } catch (RuntimeException e) {
            if (owns) {
                await(bdevs.destroy(b.name()));
            }
            throw e;
        }
        c.bdev = b;
        c.uuid = b.uuid();
        c.ownsBdev = owns;
    }

    /** From now on a hot-remove of {@code c}'s device faults it in {@code n}; one that came before does so now. */
    private static void listen(Nexus n, NexusChild c) {
        c.owner = n;
        BdevClaim claim = c.claim;
        if (claim != null && claim.removed()) {
            n.childRemoved(c, claim.removedReason());
        }
    }

    /** An {@code nvmf://} child gets the nexus's IO and loss timeouts unless its URI sets them. */
    private static String deviceUri(BdevUri u) {
        if (!"nvmf".equals(u.scheme())) {
            return u.text();
        }
        StringBuilder s = new StringBuilder(u.text());
        char sep = u.text().contains("?") ? '&' : '?';
        if (u.param("io_timeout_ms") == null) {
            s.append(sep).append("io_timeout_ms=").append(CHILD_IO_TIMEOUT_MS);
            sep = '&';
        }
        if (u.param("ctrlr_loss_timeout_ms") == null) {
            s.append(sep).append("ctrlr_loss_timeout_ms=").append(CHILD_CTRLR_LOSS_TIMEOUT_MS);
        }
        return s.toString();
    }

    private void close(NexusChild c) {
        BdevClaim claim = c.claim;
        Bdev b = c.bdev;
        c.claim = null;
        c.bdev = null;
        if (claim != null) {
            claim.close();
        }
        if (b != null && c.ownsBdev) {
            try {
                await(bdevs.destroy(b.name()));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "child {0}: its bdev {1} was not destroyed: {2}", c.uri, b.name(),
                        e.getMessage());
            }
        }
    }

    private static void checkSize(NexusChild c, long sizeBytes) {
        long have = c.bdev.sizeBytes();
        if (have < sizeBytes) {
            throw new EngineException(Reason.INVALID_ARGUMENT, "child " + c.uri + " is " + have
                    + " bytes, smaller than the nexus's " + sizeBytes);
        }
    }

    private static void checkFits(Nexus n, NexusChild c) {
        Bdev b = c.bdev;
        if (b.blockSize() != n.blockSize()) {
            throw new EngineException(Reason.INVALID_ARGUMENT, "child " + c.uri + " has " + b.blockSize()
                    + "-byte blocks, nexus " + n.name() + " " + n.blockSize());
        }
        if (b.bufferAlignment() > n.bufferAlignment()) {
            throw new EngineException(Reason.INVALID_ARGUMENT, "child " + c.uri + " needs buffers aligned to "
                    + b.bufferAlignment() + " bytes, more than nexus " + n.name() + " was made with ("
                    + n.bufferAlignment() + ")");
        }
        checkSize(c, n.sizeBytes());
    }

    // ------------------------------------------------------------------ lookups

    public synchronized List<NexusInfo> list() {
        List<NexusInfo> all = new ArrayList<>();
        for (Nexus n : byName.values()) {
            all.add(n.info());
        }
        return all;
    }

    /** Nexus {@code key} by name or UUID. */
    public synchronized Optional<NexusInfo> get(String key) {
        return Optional.ofNullable(find(key)).map(Nexus::info);
    }

    private synchronized Nexus find(String key) {
        Nexus n = byName.get(key);
        if (n != null) {
            return n;
        }
        for (Nexus m : byName.values()) {
            if (m.uuid().toString().equalsIgnoreCase(key)) {
                return m;
            }
        }
        return null;
    }

    /** Destroys every nexus (the engine is stopping): each persists a clean shutdown. */
    @Override
    public void close() {
        List<String> names;
        synchronized (this) {
            names = new ArrayList<>(byName.keySet());
        }
        for (String name : names) {
            try {
                destroy(name).get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "nexus {0} not destroyed at shutdown: {1}", name, e.toString());
            }
        }
        List<Nexus> left;
        synchronized (this) {
            left = new ArrayList<>(byName.values());
        }
        for (Nexus n : left) {
            n.stopPersister();     // not destroyed (its store failed): its health thread goes with the engine
        }
        ops.shutdown();
    }

    // ------------------------------------------------------------------ helpers

    @FunctionalInterface
    private interface Op<T> {
        T run(Nexus n) throws IOException;
    }

    private <T> CompletableFuture<T> withNexus(String key, Op<T> op) {
        Nexus n = find(key);
        if (n == null) {
            return failed(Reason.NOT_FOUND, "no nexus " + key);
        }
        return async(() -> {
            synchronized (n.operations) {
                synchronized (this) {
                    if (byName.get(n.name()) != n) {
                        throw new EngineException(Reason.NOT_FOUND, "no nexus " + key);
                    }
                }
                return op.run(n);
            }
        });
    }

    @FunctionalInterface
    private interface Work<T> {
        T run() throws IOException;
    }

    private <T> CompletableFuture<T> async(Work<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            ops.execute(() -> {
                try {
                    f.complete(work.run());
                } catch (IOException e) {
                    f.completeExceptionally(new EngineException(Reason.IO_ERROR, "child health not persisted: "
                            + e.getMessage()));
                } catch (RuntimeException e) {
                    f.completeExceptionally(EngineException.of(e));
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            f.completeExceptionally(new EngineException(Reason.UNAVAILABLE, "the engine is stopping"));
        }
        return f;
    }

    private static <T> CompletableFuture<T> failed(Reason reason, String message) {
        return CompletableFuture.failedFuture(new EngineException(reason, message));
    }

    /** Waits for a future on an operation's virtual thread: its value, or its failure as the EngineException. */
    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
            throw EngineException.of(e);
        }
    }
}
