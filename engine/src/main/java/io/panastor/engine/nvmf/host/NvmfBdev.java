package io.panastor.engine.nvmf.host;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.stats.IoStats;
import io.panastor.engine.stats.NvmeControllerInfo;
import io.panastor.reactor.Reactor;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A namespace of a remote NVMe/TCP subsystem as a bdev: its {@link AdminQueue} on one
 * reactor, one IO queue per reactor that uses it, no thread of its own. What a nexus will use
 * for a remote replica.
 *
 * <p>When the controller goes (its admin queue fails, or a reset is asked for because a
 * command outlived its abort) every IO queue is suspended — its commands fail, new IO
 * waits — and when the admin queue has a controller again every queue reconnects to it.
 *
 * <p>Hot-remove: a controller lost for longer than {@code ctrlr_loss_timeout_ms} is lost for
 * good. The admin queue stops reconnecting, every IO queue fails what it holds or has in
 * flight (IO error, ENODEV) and fails new IO the same way, and then the bdev reports itself
 * {@linkplain #removed removed}: its registry unregisters it, tells its claimant and destroys it.
 *
 * <p>Thread-safety: as {@link AbstractBdev}.
 */
public final class NvmfBdev extends AbstractBdev implements AdminQueue.ControllerListener {
    private static final System.Logger LOG = System.getLogger(NvmfBdev.class.getName());
    private final NvmfUri uri;
    private final AdminQueue admin;
    private final AtomicInteger nextQid = new AtomicInteger();
    private final Set<HostQueue> queues = ConcurrentHashMap.newKeySet();
    /** Why the controller is gone for good, once it is (then no queue connects). */
    private volatile String goneWhy;

    NvmfBdev(String name, UUID uuid, NvmfUri uri, AdminQueue admin) {
        super(name, uuid, uri.text(), admin.controller().blockSize(), admin.controller().blocks());
        this.uri = uri;
        this.admin = admin;
        admin.listener(this);
    }

    @Override
    public String productName() {
        return "NVMe/TCP disk";
    }


    NvmfUri remoteUri() {
        return uri;
    }

    /** The controller's current CNTLID (changes when the admin queue reconnects). */
    int cntlid() {
        return admin.controller().cntlid();
    }

    void abort(int qid, int cid) {
        admin.abortAsync(qid, cid);
    }

    /**
     * Resets the controller (CC.EN 1→0, a new association, every IO queue reconnected), as
     * when a command did not complete after its abort. Asynchronous; any thread.
     */
    public void resetController(String why) {
        admin.resetAsync(why);
    }

    /** The controller's current CNTLID, or -1 while the admin queue has none. */
    public int controllerId() {
        return admin.live() ? admin.controller().cntlid() : -1;
    }

    @Override
    public void controllerLost(String why, int errno) {
        LOG.log(System.Logger.Level.WARNING, "{0}: controller lost ({1}); holding IO on {2} queue(s)", name(), why,
                queues.size());
        for (HostQueue q : queues) {
            q.suspendAsync("controller lost: " + why, errno);
        }
    }

    /** Asks the controller for the namespace's size again and takes it if it grew. Control path. */
    @Override
    public long rescan() {
        try {
            long blocks = admin.rescanAsync().get(30, java.util.concurrent.TimeUnit.SECONDS);
            if (blocks > blockCount()) {
                setBlockCount(blocks);
            }
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: rescan: {1}", name(), e.getCause() == null ? e : e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return blockCount();
    }

    @Override
    public void controllerReady(int cntlid) {
        long blocks = admin.controller().blocks();
        if (blocks > blockCount()) {
            setBlockCount(blocks);      // reconnected to a namespace that grew
        }
        for (HostQueue q : queues) {
            q.resumeAsync();
        }
    }

    @Override
    public void controllerGone(String why) {
        goneWhy = why;
        LOG.log(System.Logger.Level.WARNING, "{0}: {1}; failing IO on {2} queue(s) and removing the bdev", name(), why,
                queues.size());
        CompletableFuture<?>[] failed = queues.stream().map(q -> q.goneAsync(why)).toArray(CompletableFuture[]::new);
        CompletableFuture.allOf(failed).whenComplete((v, t) -> removed(why));
    }

    /** Why the controller is gone for good, or null while it is not. Any thread. */
    String goneReason() {
        return goneWhy;
    }

    /** An IO queue was refused: have the admin queue check its controller now. */
    void checkController() {
        admin.checkAsync();
    }

    void queueReleased(HostQueue q) {
        queues.remove(q);
    }

    int maxTransfer() {
        return admin.controller().maxTransfer();
    }

    /** Most entries an IO queue may have (CAP.MQES + 1). */
    int maxQueueEntries() {
        return admin.controller().maxQueueEntries();
    }

    /** Entries each IO queue asks for: {@link HostQueue#QUEUE_DEPTH}, or less if CAP.MQES says so. */
    int ioQueueDepth() {
        return Math.max(2, Math.min(HostQueue.QUEUE_DEPTH, maxQueueEntries()));
    }

    /**
     * The controller's state for operators: RUNNING (live), RESETTING (being disabled for a
     * reset), RECONNECTING (lost: associating again or waiting out the backoff), FAULTED (lost
     * past {@code ctrlr_loss_timeout_ms}), CLOSED. Any thread.
     */
    public String controllerState() {
        return switch (admin.phase()) {
            case LIVE -> "RUNNING";
            case DISABLING -> "RESETTING";
            case CONNECTING, ASSOCIATING, BACKOFF -> "RECONNECTING";
            case GONE -> "FAULTED";
            case CLOSING, CLOSED -> "CLOSED";
        };
    }

    /** The controller as listed for operators, with this bdev's IO statistics {@code io}. Any thread. */
    public NvmeControllerInfo controllerInfo(IoStats io) {
        RemoteController c = admin.controller();
        return new NvmeControllerInfo(name(), uri.address(), uri.nqn(), uri.hostNqn(), controllerId(),
                controllerState(), c.ioQueues(), ioQueueDepth(), io.numReadOps(), io.numWriteOps(), io.bytesRead(),
                io.bytesWritten(), io.numUnmapOps(), io.bytesUnmapped());
    }

    int inCapsuleBytes() {
        return admin.controller().inCapsuleBytes();
    }

    @Override
    protected IoChannel createChannel(Reactor reactor) {
        int count = Math.max(1, admin.controller().ioQueues());
        HostQueue q = new HostQueue(this, reactor, 1 + Math.floorMod(nextQid.getAndIncrement(), count));
        queues.add(q);
        return q;
    }

    /** Native memory the bdev's connections hold (admin queue and every IO queue). */
    public long nativeBytes() {
        long n = admin.connection().nativeBytes();
        for (HostQueue q : queues) {
            n += q.connection().nativeBytes();
        }
        return n;
    }

    /** The admin queue, for tests that watch its state. */
    AdminQueue adminQueue() {
        return admin;
    }

    @Override
    protected void release() {
        admin.closeAsync();
    }

    /** IO queues are closed (each sent its Disconnect): now the admin queue disconnects. */
    @Override
    protected java.util.concurrent.CompletableFuture<Void> releaseAsync() {
        return admin.closeAsync();
    }
}
