package io.panastor.engine.nexus;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.reactor.Reactor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.function.LongSupplier;

/**
 * A nexus: one bdev mirrored over its children, and the state the IO path routes by.
 *
 * <p>Its children's states change under this object's lock: from the control path
 * ({@link Nexuses}) and from the IO path when a child fails an IO ({@link #childFailed}, the
 * only lock a reactor takes, and only on that failure path). Every change bumps the health
 * generation and publishes a new {@link ChildSet}, which each channel picks up before its
 * next IO. A virtual thread of the nexus's own writes the child health of the latest
 * generation to the {@link HealthStore}; a write that completed under a generation not yet
 * persisted is held by its channel until it is ({@link NexusChannel}). So a write that
 * reached fewer children than the store calls healthy is never acknowledged.
 *
 * <p>Thread-safety: any thread for the control methods; channels on their reactors.
 */
final class Nexus extends AbstractBdev {
    private static final System.Logger LOG = System.getLogger(Nexus.class.getName());
    /** Most children of one nexus: each has a bit in the IO path's masks. */
    static final int MAX_CHILDREN = 31;

    final String infoKey;
    /** Held by the control operation running on this nexus ({@link Nexuses} runs one at a time). */
    final Object operations = new Object();
    private final HealthStore store;
    private final int alignment;
    /** Guarded by {@code this}. */
    private final List<NexusChild> children = new ArrayList<>();
    private long healthGeneration;
    private boolean shuttingDown;
    /** IO ended with every write on the healthy children: the record says the shutdown was clean. */
    private boolean drained;
    private boolean shutDown;
    private String nqn;
    private List<String> allowedHosts = List.of();
    private volatile ChildSet set;
    private volatile long persistedGeneration = -1;
    /** Serialises writes to the store, so the persisted generation only grows. */
    private final Object persisting = new Object();
    private final List<NexusChannel> channels = new CopyOnWriteArrayList<>();
    private final Semaphore wake = new Semaphore(0);
    private volatile boolean stopped;
    private final Thread persister;
    /** Blocks per segment of the dirty logs and rebuilds. */
    final long segmentBlocks;
    private final LongSupplier millis;
    /** Ranges locked by rebuilds; guarded by itself, with the channel list's additions. */
    private final List<RangeLock> rangeLocks = new ArrayList<>();

    Nexus(String name, UUID uuid, long sizeBytes, int blockSize, int alignment, String infoKey, HealthStore store,
          List<NexusChild> initial, long segmentBlocks, LongSupplier millis) {
        super(name, uuid, "nexus:///" + name, blockSize, sizeBytes / blockSize);
        this.infoKey = infoKey;
        this.store = store;
        this.alignment = alignment;
        this.segmentBlocks = segmentBlocks;
        this.millis = millis;
        addAlias(uuid.toString());
        children.addAll(initial);
        this.set = buildSet();
        this.persister = Thread.ofVirtual().name("nexus-health-" + name).start(this::persistLoop);
    }

    @Override
    public String productName() {
        return "Nexus";
    }

    @Override
    public int bufferAlignment() {
        return alignment;
    }

    // ------------------------------------------------------------------ the IO path's view

    ChildSet set() {
        return set;
    }

    long persistedGeneration() {
        return persistedGeneration;
    }

    /**
     * A child failed an IO on a reactor: it is faulted with {@code reason}, unless it is the
     * last healthy child and the device is still there (then the IO fails and the child
     * stays: a volume is not taken down by one failed IO). Ignored when the child has moved on
     * (faulted already, reopened on another device).
     */
    synchronized void childFailed(NexusChild c, Bdev device, ChildReason reason) {
        if (c.bdev != device || !c.state.writable() || !children.contains(c)) {
            return;
        }
        if (c.state.readable() && healthyCount() == 1 && reason != ChildReason.HOT_REMOVED) {
            return;
        }
        transition(c, ChildState.FAULTED, reason);
        LOG.log(System.Logger.Level.WARNING, "nexus {0}: child {1} faulted ({2})", name(), c.uri, reason);
        changed();
    }

    /** The child's device went away for good: faulted, whatever the others are. */
    synchronized void childRemoved(NexusChild c, String why) {
        if (!children.contains(c) || c.bdev == null) {
            return;
        }
        c.bdev = null;
        c.claim = null;
        if (c.state != ChildState.FAULTED || c.reason != ChildReason.HOT_REMOVED) {
            transition(c, ChildState.FAULTED, ChildReason.HOT_REMOVED);
            LOG.log(System.Logger.Level.WARNING, "nexus {0}: child {1} removed: {2}", name(), c.uri, why);
        }
        changed();
    }

    // ------------------------------------------------------------------ state, under the lock

    synchronized List<NexusChild> children() {
        return List.copyOf(children);
    }

    synchronized NexusChild child(String uri) {
        for (NexusChild c : children) {
            if (c.uri.equals(uri)) {
                return c;
            }
        }
        return null;
    }

    synchronized int healthyCount() {
        int n = 0;
        for (NexusChild c : children) {
            if (c.state == ChildState.OPEN) {
                n++;
            }
        }
        return n;
    }

    synchronized int freeChildId() {
        for (int id = 0; id < MAX_CHILDREN; id++) {
            boolean used = false;
            for (NexusChild c : children) {
                used |= c.id == id;
            }
            if (!used) {
                return id;
            }
        }
        return -1;
    }

    synchronized void add(NexusChild c) {
        children.add(c);
        changed();
    }

    synchronized void remove(NexusChild c) {
        children.remove(c);
        changed();
    }

    synchronized void setState(NexusChild c, ChildState state, ChildReason reason) {
        transition(c, state, reason);
        changed();
    }

    /**
     * Moves {@code c} to {@code to}, starting or ending its dirty log: a healthy child that
     * leaves the IO path offline, timed out or hot-removed starts one (it may come back for a
     * partial rebuild); one that was being rebuilt partially keeps its log (it still covers
     * everything since it first left); any other departure, and becoming healthy, drops it.
     */
    private void transition(NexusChild c, ChildState to, ChildReason why) {
        boolean keeps = why == ChildReason.CLOSED || why == ChildReason.TIMED_OUT || why == ChildReason.HOT_REMOVED;
        if (to == ChildState.OPEN || (!to.writable() && !keeps)) {
            c.log = null;
        } else if (!to.writable() && c.state == ChildState.OPEN && c.log == null) {
            c.log = new DirtyLog(millis.getAsLong(), segmentBlocks, blockCount());
        }
        c.set(to, why);
    }

    /** From now on IO fails; the nexus is shutting down. */
    synchronized void closeToIo() {
        shuttingDown = true;
        changed();
    }

    /** After {@link #closeToIo} and the IO drained: every record written from now on says the shutdown was clean. */
    synchronized void markDrained() {
        drained = true;
        changed();
    }

    synchronized void markShutDown() {
        shutDown = true;
    }

    synchronized boolean isShuttingDown() {
        return shuttingDown;
    }

    synchronized void published(String nqn, List<String> hosts) {
        this.nqn = nqn;
        this.allowedHosts = List.copyOf(hosts);
    }

    synchronized String nqn() {
        return nqn;
    }

    synchronized NexusState state() {
        if (shutDown) {
            return NexusState.SHUTDOWN;
        }
        if (shuttingDown) {
            return NexusState.SHUTTING_DOWN;
        }
        int healthy = healthyCount();
        return healthy == 0 ? NexusState.FAULTED : healthy == children.size() ? NexusState.ONLINE : NexusState.DEGRADED;
    }

    synchronized NexusInfo info() {
        List<ChildInfo> cs = new ArrayList<>();
        for (NexusChild c : children) {
            cs.add(c.info());
        }
        return new NexusInfo(name(), uuid(), sizeBytes(), state(), cs, nqn, allowedHosts, infoKey);
    }

    /** The children with a rebuild job that has not ended. */
    synchronized List<NexusChild> rebuilding() {
        List<NexusChild> out = new ArrayList<>();
        for (NexusChild c : children) {
            if (c.rebuild != null) {
                out.add(c);
            }
        }
        return out;
    }

    /** Grows the nexus to {@code blocks} (its children checked by the caller). */
    void grow(long blocks) {
        setBlockCount(blocks);
    }

    private void changed() {
        healthGeneration++;
        set = buildSet();
        wake.release();
    }

    private ChildSet buildSet() {
        List<ChildSet.Member> members = new ArrayList<>();
        List<DirtyLog> logs = new ArrayList<>();
        for (NexusChild c : children) {
            Bdev b = c.bdev;
            if (c.state.writable() && b != null) {
                members.add(new ChildSet.Member(c, b, c.state.readable()));
            } else if (c.log != null) {
                logs.add(c.log);
            }
        }
        return new ChildSet(healthGeneration, List.copyOf(members), !shuttingDown, logs.toArray(DirtyLog[]::new));
    }

    // ------------------------------------------------------------------ persistence

    /**
     * Writes the current child health now and waits for it; the generation it wrote. For the
     * control path, which answers only once a change it made is durable. Clean once the nexus
     * was shut down with its IO drained, so the health thread cannot write over a clean record.
     */
    long persistNow() throws IOException {
        synchronized (persisting) {
            long gen;
            HealthRecord record;
            synchronized (this) {
                gen = healthGeneration;
                List<HealthRecord.ChildHealth> hs = new ArrayList<>();
                for (NexusChild c : children) {
                    hs.add(c.health());
                }
                record = new HealthRecord(drained, hs);
            }
            store.save(infoKey, record);
            if (gen > persistedGeneration) {
                persistedGeneration = gen;
            }
            for (NexusChannel ch : channels) {
                ch.reactor().execute(ch::healthPersisted);
            }
            return gen;
        }
    }

    /** Writes each new generation as it comes; on a failed write fails the writes waiting for it and tries again. */
    private void persistLoop() {
        while (!stopped) {
            try {
                wake.acquire();
                wake.drainPermits();
            } catch (InterruptedException e) {
                return;
            }
            if (stopped) {
                return;
            }
            long want;
            synchronized (this) {
                want = healthGeneration;
            }
            if (want <= persistedGeneration) {
                continue;
            }
            try {
                persistNow();
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "nexus {0}: child health not persisted ({1}); writes waiting for it fail",
                        name(), e.toString());
                for (NexusChannel ch : channels) {
                    ch.reactor().execute(() -> ch.healthNotPersisted(want));
                }
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
                wake.release();
            }
        }
    }

    void stopPersister() {
        stopped = true;
        wake.release();
        try {
            persister.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ channels

    List<NexusChannel> channels() {
        return channels;
    }

    /** Every channel has picked up the current child set (what a control change waits for before it answers). */
    CompletableFuture<Void> syncChannels() {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (NexusChannel ch : channels) {
            all.add(ch.reactor().run(ch::refresh));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    /** Every channel has dropped {@code c} and has no IO left on it. */
    CompletableFuture<Void> quiesce(NexusChild c) {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (NexusChannel ch : channels) {
            all.add(ch.reactor().submit(() -> ch.quiesce(c)).thenCompose(f -> f));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    /** Every channel has no IO in flight (after {@link #closeToIo}). */
    CompletableFuture<Void> drainChannels() {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (NexusChannel ch : channels) {
            all.add(ch.reactor().submit(ch::idle).thenCompose(f -> f));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    // ------------------------------------------------------------------ range locks

    /**
     * Locks blocks {@code [first, first + count)} on every channel ({@link RangeLock});
     * {@code onLocked} runs on {@code owner} once each has no modifying IO in flight on them.
     * A channel made meanwhile starts with the range locked.
     */
    RangeLock lockRange(long first, long count, Reactor owner, Runnable onLocked) {
        RangeLock r = new RangeLock(first, count, owner, onLocked);
        synchronized (rangeLocks) {
            rangeLocks.add(r);
            NexusChannel[] chs = channels.toArray(NexusChannel[]::new);
            r.expect(chs.length);
            for (NexusChannel ch : chs) {
                ch.reactor().execute(() -> ch.lock(r));
            }
        }
        r.answer();
        return r;
    }

    /** Ends lock {@code r} on every channel; the IO it held goes on in order. */
    void unlockRange(RangeLock r) {
        synchronized (rangeLocks) {
            rangeLocks.remove(r);
            for (NexusChannel ch : channels) {
                ch.reactor().execute(() -> ch.unlock(r));
            }
        }
    }

    @Override
    protected IoChannel createChannel(Reactor reactor) {
        synchronized (rangeLocks) {
            NexusChannel ch = new NexusChannel(this, reactor);
            for (RangeLock r : rangeLocks) {
                ch.preLocked(r);
            }
            channels.add(ch);
            return ch;
        }
    }

    @Override
    protected void release() {
    }
}
