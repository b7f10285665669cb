package io.panastor.engine.nvmf.tgt;

import io.panastor.engine.nvmf.proto.ControllerRegisters;
import io.panastor.engine.nvmf.proto.Features;
import io.panastor.engine.nvmf.proto.PropertyCommand;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.reactor.Reactor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A controller of the dynamic model: made when a host connects an admin queue, joined by
 * its IO queues, gone when the admin queue goes or the keep-alive timer expires.
 *
 * <p>Thread-safety: its admin state (properties, features, async events, keep-alive) is
 * confined to the admin queue's reactor; the IO queue table and identity are any-thread.
 */
public final class Controller {
    private static final System.Logger LOG = System.getLogger(Controller.class.getName());
    /** IO queues a controller supports (Number of Queues, 0's based + 1). */
    static final int MAX_IO_QUEUES = 64;
    /** Asynchronous Event Requests held at once (Identify AERL + 1). */
    static final int MAX_AERS = 4;
    /** Async event: notice (type 2), namespace attribute changed (info 0), log page 04h. */
    static final int AEN_NAMESPACE_CHANGED = 0x00040002;
    /** Async event configuration bit that enables namespace attribute notices. */
    static final int AEC_NAMESPACE_NOTICES = Features.AEC_NAMESPACE_ATTRIBUTE;
    /** The over-temperature threshold Get Features reports (85 °C). */
    static final int TEMPERATURE_THRESHOLD_KELVIN = 358;

    private final int cntlid;
    private final Subsystem subsystem;
    private final String hostNqn;
    private final byte[] hostId;
    private final QueuePair admin;
    private final Reactor adminReactor;
    private final AtomicReferenceArray<QueuePair> ioQueues = new AtomicReferenceArray<>(MAX_IO_QUEUES + 1);
    private volatile boolean ready;
    private volatile boolean gone;

    // admin-reactor state
    private int cc;
    private int csts;
    private volatile int ioQueuesGranted = MAX_IO_QUEUES;
    private int asyncEventConfig;
    private long katoMillis;
    private long lastKeepAlive;
    private long keepAliveTimer = -1;
    private final ArrayDeque<NvmfRequest> aers = new ArrayDeque<>();
    private final List<Integer> changedNamespaces = new ArrayList<>();
    private boolean namespaceEventPending;

    Controller(int cntlid, Subsystem subsystem, String hostNqn, byte[] hostId, QueuePair admin, long katoMillis) {
        this.cntlid = cntlid;
        this.subsystem = subsystem;
        this.hostNqn = hostNqn;
        this.hostId = hostId;
        this.admin = admin;
        this.adminReactor = admin.reactor;
        this.katoMillis = katoMillis;
        // Made on the admin queue's reactor, during its Connect: its clock, as for every check after.
        this.lastKeepAlive = adminReactor.nanoTime();
    }

    public int cntlid() {
        return cntlid;
    }

    public Subsystem subsystem() {
        return subsystem;
    }

    public String hostNqn() {
        return hostNqn;
    }

    byte[] hostId() {
        return hostId;
    }

    /** CC.EN = 1 and CSTS.RDY = 1: IO queues may connect. */
    public boolean isReady() {
        return ready;
    }

    public long keepAliveTimeoutMillis() {
        return katoMillis;
    }

    /** Connected IO queues, by QID. */
    public List<QueuePair> ioQueues() {
        List<QueuePair> out = new ArrayList<>();
        for (int i = 1; i <= MAX_IO_QUEUES; i++) {
            QueuePair q = ioQueues.get(i);
            if (q != null) {
                out.add(q);
            }
        }
        return out;
    }

    QueuePair adminQueue() {
        return admin;
    }

    int ioQueuesGranted() {
        return ioQueuesGranted;
    }

    /** Registers an IO queue; false when the QID is beyond what was granted or taken. Any thread. */
    boolean attachIoQueue(int qid, QueuePair q) {
        return !gone && qid >= 1 && qid <= ioQueuesGranted && ioQueues.compareAndSet(qid, null, q);
    }

    /** A queue of this controller closed: an IO queue leaves; the admin queue ends the controller. */
    void onQueueClosed(QueuePair q) {
        if (q == admin) {
            destroy("admin queue closed");
        } else if (q.qid >= 1 && q.qid <= MAX_IO_QUEUES) {
            ioQueues.compareAndSet(q.qid, q, null);
        }
    }

    private void closeIoQueues(String reason) {
        for (int i = 1; i <= MAX_IO_QUEUES; i++) {
            QueuePair q = ioQueues.getAndSet(i, null);
            if (q != null) {
                q.closeAsync(reason);
            }
        }
    }

    /** Ends the association: every IO queue is closed on its reactor. Any thread. */
    void destroy(String reason) {
        if (gone) {
            return;
        }
        gone = true;
        ready = false;
        LOG.log(System.Logger.Level.INFO, "controller {0} of {1} for {2} ends: {3}", cntlid, subsystem.nqn(), hostNqn,
                reason);
        subsystem.detach(this);
        closeIoQueues("controller " + cntlid + " ended: " + reason);
        admin.closeAsync("controller " + cntlid + " ended: " + reason);
    }

    // ---------------------------------------------------------------- keep-alive (admin reactor)

    void startKeepAlive() {
        if (katoMillis > 0) {
            scheduleKeepAliveCheck();
        }
    }

    void onKeepAlive() {
        lastKeepAlive = adminReactor.nanoTime();
    }

    void setKeepAliveTimeout(long millis) {
        katoMillis = millis;
        lastKeepAlive = adminReactor.nanoTime();
        if (keepAliveTimer >= 0) {
            adminReactor.cancelTimer(keepAliveTimer);
            keepAliveTimer = -1;
        }
        startKeepAlive();
    }

    private void scheduleKeepAliveCheck() {
        // Check at half the timeout, as hosts send at half of it; expire once a whole KATO
        // has passed with no Keep Alive (NVMe base 2.0 §3.9.5).
        long period = TimeUnit.MILLISECONDS.toNanos(Math.max(50, katoMillis / 2));
        keepAliveTimer = adminReactor.scheduleTimer(period, this::checkKeepAlive);
    }

    private void checkKeepAlive() {
        keepAliveTimer = -1;
        if (gone || katoMillis <= 0) {
            return;
        }
        if (adminReactor.nanoTime() - lastKeepAlive > TimeUnit.MILLISECONDS.toNanos(katoMillis)) {
            destroy("keep-alive timeout of " + katoMillis + " ms expired");
            return;
        }
        scheduleKeepAliveCheck();
    }

    // ---------------------------------------------------------------- properties (admin reactor)

    /** CAP: MQES for our queues, contiguous, ready within 10 s, NVM command set, 4 KiB pages. */
    static final long CAP = ControllerRegisters.cap(QueuePair.MAX_QUEUE_DEPTH, 10_000);

    static final int VS = ControllerRegisters.version(1, 4, 0);

    void onProperty(NvmfRequest req, boolean set) {
        int attrib = PropertyCommand.size(req.sqe, 0);
        long offset = PropertyCommand.offset(req.sqe, 0);
        boolean eightBytes = attrib == PropertyCommand.SIZE_8_BYTES;
        if (attrib != PropertyCommand.SIZE_4_BYTES && !eightBytes) {
            req.complete(NvmeStatus.INVALID_FIELD, 0);
            return;
        }
        if (set) {
            long value = PropertyCommand.value(req.sqe, 0);
            if (offset == ControllerRegisters.CC && !eightBytes) {
                writeCc((int) value);
                req.complete(NvmeStatus.SUCCESS, 0);
            } else {
                req.complete(NvmeStatus.INVALID_FIELD, 0);
            }
            return;
        }
        long value;
        switch ((int) Math.min(offset, Integer.MAX_VALUE)) {
            case ControllerRegisters.CAP -> value = CAP;
            case ControllerRegisters.VS -> value = VS;
            case ControllerRegisters.CC -> value = Integer.toUnsignedLong(cc);
            case ControllerRegisters.CSTS -> value = Integer.toUnsignedLong(csts);
            default -> {
                req.complete(NvmeStatus.INVALID_FIELD, 0);
                return;
            }
        }
        req.dw1 = eightBytes ? (int) (value >>> 32) : 0;
        req.complete(NvmeStatus.SUCCESS, (int) value);
    }

    private void writeCc(int value) {
        boolean wasEnabled = ControllerRegisters.enabled(cc);
        boolean enable = ControllerRegisters.enabled(value);
        int shn = ControllerRegisters.shutdownNotification(value);
        cc = value;
        if (shn != 0) {
            // Shutdown: nothing is cached above the bdevs, so it completes at once.
            csts = ControllerRegisters.withShutdownStatus(csts, ControllerRegisters.CSTS_SHST_COMPLETE);
            ready = false;
        }
        if (enable && !wasEnabled) {
            csts = ControllerRegisters.withShutdownStatus(csts, 0) | ControllerRegisters.CSTS_RDY;
            ready = true;
        } else if (!enable && wasEnabled) {
            // Controller Level Reset: its IO queues are deleted, so their connections end; the
            // admin queue stays and the host may enable the controller again.
            csts &= ~ControllerRegisters.CSTS_RDY;
            ready = false;
            closeIoQueues("controller " + cntlid + " reset (CC.EN cleared)");
        }
    }

    // ---------------------------------------------------------------- features (admin reactor)

    void onSetFeatures(NvmfRequest req) {
        int fid = Features.fid(req.sqe, 0);
        if (Features.save(req.sqe, 0)) {
            req.complete(NvmeStatus.FEATURE_NOT_SAVEABLE, 0);
            return;
        }
        int cdw11 = Features.value(req.sqe, 0);
        switch (fid) {
            case Features.FID_NUMBER_OF_QUEUES -> {
                if ((cdw11 & 0xFFFF) == Features.QUEUES_INVALID || (cdw11 >>> 16) == Features.QUEUES_INVALID) {
                    req.complete(NvmeStatus.INVALID_FIELD, 0);
                    return;
                }
                int granted = Math.min(Math.min(Features.submissionQueues(cdw11), Features.completionQueues(cdw11)),
                        MAX_IO_QUEUES);
                ioQueuesGranted = granted;
                req.complete(NvmeStatus.SUCCESS, Features.queues(granted, granted));
            }
            case Features.FID_ASYNC_EVENT_CONFIG -> {
                asyncEventConfig = cdw11;
                req.complete(NvmeStatus.SUCCESS, 0);
            }
            case Features.FID_KEEP_ALIVE_TIMER -> {
                setKeepAliveTimeout(Integer.toUnsignedLong(cdw11));
                req.complete(NvmeStatus.SUCCESS, 0);
            }
            case Features.FID_ARBITRATION, Features.FID_POWER_MANAGEMENT, Features.FID_TEMPERATURE_THRESHOLD,
                 Features.FID_ERROR_RECOVERY, Features.FID_VOLATILE_WRITE_CACHE, Features.FID_WRITE_ATOMICITY,
                 Features.FID_HOST_IDENTIFIER -> req.complete(NvmeStatus.FEATURE_NOT_CHANGEABLE, 0);
            default -> req.complete(NvmeStatus.INVALID_FIELD, 0);
        }
    }

    void onGetFeatures(NvmfRequest req) {
        int fid = Features.fid(req.sqe, 0);
        int select = Features.select(req.sqe, 0);
        if (select == Features.SEL_SUPPORTED_CAPABILITIES) {
            // Nothing is saveable or namespace specific; only the three features below change.
            boolean changeable = fid == Features.FID_NUMBER_OF_QUEUES || fid == Features.FID_ASYNC_EVENT_CONFIG
                    || fid == Features.FID_KEEP_ALIVE_TIMER;
            req.complete(NvmeStatus.SUCCESS, changeable ? Features.CAPABILITY_CHANGEABLE : 0);
            return;
        }
        if (select > Features.SEL_SUPPORTED_CAPABILITIES) {
            req.complete(NvmeStatus.INVALID_FIELD, 0);
            return;
        }
        boolean current = select == Features.SEL_CURRENT;
        switch (fid) {
            case Features.FID_NUMBER_OF_QUEUES -> {
                int n = current ? ioQueuesGranted : MAX_IO_QUEUES;
                req.complete(NvmeStatus.SUCCESS, Features.queues(n, n));
            }
            case Features.FID_ASYNC_EVENT_CONFIG -> req.complete(NvmeStatus.SUCCESS, current ? asyncEventConfig : 0);
            case Features.FID_KEEP_ALIVE_TIMER -> req.complete(NvmeStatus.SUCCESS, current ? (int) katoMillis : 0);
            case Features.FID_VOLATILE_WRITE_CACHE -> req.complete(NvmeStatus.SUCCESS, 1);       // WCE: enabled
            case Features.FID_TEMPERATURE_THRESHOLD -> req.complete(NvmeStatus.SUCCESS, TEMPERATURE_THRESHOLD_KELVIN);
            case Features.FID_ARBITRATION, Features.FID_POWER_MANAGEMENT, Features.FID_ERROR_RECOVERY,
                 Features.FID_WRITE_ATOMICITY -> req.complete(NvmeStatus.SUCCESS, 0);
            default -> req.complete(NvmeStatus.INVALID_FIELD, 0);
        }
    }

    // ---------------------------------------------------------------- async events (admin reactor)

    /** Holds an Asynchronous Event Request; false when it completes at once (limit, or an event waiting). */
    boolean holdAsyncEvent(NvmfRequest req) {
        if (namespaceEventPending) {
            namespaceEventPending = false;
            req.complete(NvmeStatus.SUCCESS, AEN_NAMESPACE_CHANGED);
            return false;
        }
        if (aers.size() >= MAX_AERS) {
            req.complete(NvmeStatus.ASYNC_EVENT_LIMIT_EXCEEDED, 0);
            return false;
        }
        aers.add(req);
        return true;
    }

    /** A namespace of the subsystem was added or removed. Admin reactor. */
    void onNamespaceChanged(int nsid) {
        if (gone) {
            return;
        }
        if (!changedNamespaces.contains(nsid) && changedNamespaces.size() < 1024) {
            changedNamespaces.add(nsid);
        }
        if ((asyncEventConfig & AEC_NAMESPACE_NOTICES) == 0) {
            return;
        }
        NvmfRequest aer = aers.poll();
        if (aer == null) {
            namespaceEventPending = true;
            return;
        }
        aer.complete(NvmeStatus.SUCCESS, AEN_NAMESPACE_CHANGED);
        admin.finish(aer, NvmeStatus.SUCCESS);
        admin.flush();
    }

    /** The changed-namespace list, cleared by reading it. Admin reactor. */
    List<Integer> takeChangedNamespaces(boolean retain) {
        List<Integer> out = List.copyOf(changedNamespaces);
        if (!retain) {
            changedNamespaces.clear();
        }
        return out;
    }

    Reactor adminReactor() {
        return adminReactor;
    }

    @Override
    public String toString() {
        return "controller " + cntlid + " of " + subsystem.nqn() + " for " + hostNqn;
    }
}
