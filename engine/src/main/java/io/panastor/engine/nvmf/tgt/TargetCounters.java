package io.panastor.engine.nvmf.tgt;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a target counts about faults and resources, for operators and tests: handlers that
 * threw (each distinct fault logged once, then only counted), connections ended for a
 * handshake that did not finish in time, connections refused because too many had not yet
 * connected, and the native memory its connections hold by its own accounting.
 *
 * <p>Thread-safety: any thread (atomic counters; reactors add, anyone reads).
 */
public final class TargetCounters {
    private static final System.Logger LOG = System.getLogger(TargetCounters.class.getName());
    /** Distinct faults remembered for log-once; past this every fault is only counted. */
    static final int MAX_DISTINCT_FAULTS = 256;

    private final AtomicLong handlerFailures = new AtomicLong();
    private final AtomicLong transportErrors = new AtomicLong();
    /** Fatal transport errors by FES seen so far (log once per FES). */
    private final Set<Integer> transportErrorsSeen = ConcurrentHashMap.newKeySet();
    private final AtomicLong handshakeTimeouts = new AtomicLong();
    private final AtomicLong refusedUnconnected = new AtomicLong();
    private final AtomicLong r2tTimeouts = new AtomicLong();
    private final AtomicLong sendStalls = new AtomicLong();
    private final AtomicLong connectionBytes = new AtomicLong();
    private final AtomicLong poolBytes = new AtomicLong();
    private final Set<String> faultsSeen = ConcurrentHashMap.newKeySet();

    /** A command or PDU handler threw: counted, and logged with its stack the first time this fault is seen. */
    void handlerFailed(Object where, String what, RuntimeException e) {
        handlerFailures.incrementAndGet();
        StackTraceElement[] st = e.getStackTrace();
        String key = e.getClass().getName() + "@" + (st.length > 0 ? st[0] : "?");
        if (faultsSeen.size() < MAX_DISTINCT_FAULTS && faultsSeen.add(key)) {
            LOG.log(System.Logger.Level.WARNING, where + ": " + what + " failed (logged once, counted after)", e);
        } else {
            LOG.log(System.Logger.Level.DEBUG, "{0}: {1} failed: {2}", where, what, e);
        }
    }

    /**
     * A host's PDU was a fatal transport error: counted; the first of each FES is logged at
     * WARNING, the rest at DEBUG, so that a hostile host cannot flood the log.
     */
    void transportError(Object where, int fes, int fieldOffset) {
        transportErrors.incrementAndGet();
        System.Logger.Level level = transportErrorsSeen.add(fes) ? System.Logger.Level.WARNING
                : System.Logger.Level.DEBUG;
        LOG.log(level, "{0}: fatal transport error (FES {1}) at byte {2}; terminating{3}", where, fes, fieldOffset,
                level == System.Logger.Level.WARNING ? " (first of its kind: logged once, counted after)" : "");
    }

    void onHandshakeTimeout() {
        handshakeTimeouts.incrementAndGet();
    }

    /** A connection was closed because a host did not send the data of an R2T in time: counted; the first logged. */
    void r2tTimedOut(Object where, int cid, long timeoutNanos) {
        System.Logger.Level level = r2tTimeouts.incrementAndGet() == 1 ? System.Logger.Level.WARNING
                : System.Logger.Level.DEBUG;
        LOG.log(level, "{0}: no H2CData for the R2T of cid {1} within {2} ms: closing the connection{3}", where, cid,
                timeoutNanos / 1_000_000, level == System.Logger.Level.WARNING ? " (logged once, counted after)" : "");
    }

    void sendStalled(Object where, long timeoutNanos) {
        System.Logger.Level level = sendStalls.incrementAndGet() == 1 ? System.Logger.Level.WARNING
                : System.Logger.Level.DEBUG;
        LOG.log(level, "{0}: no send progress within {1} ms (the host reads nothing): closing the connection{2}",
                where, timeoutNanos / 1_000_000, level == System.Logger.Level.WARNING
                        ? " (logged once, counted after)" : "");
    }

    void onRefusedUnconnected() {
        refusedUnconnected.incrementAndGet();
    }

    /** A connection allocated ({@code delta} > 0) or freed native memory. */
    void connectionMemory(long delta) {
        connectionBytes.addAndGet(delta);
    }

    /** A reactor's shared data-buffer pool grew or was freed. */
    void poolMemory(long delta) {
        poolBytes.addAndGet(delta);
    }

    /** Command and PDU handlers that threw (each answered with an error status or a C2HTermReq). */
    public long handlerFailures() {
        return handlerFailures.get();
    }

    /** Connections ended with a C2HTermReq for a malformed PDU. */
    public long transportErrors() {
        return transportErrors.get();
    }

    /** Connections closed because ICReq and Connect did not both arrive within the handshake timeout. */
    public long handshakeTimeouts() {
        return handshakeTimeouts.get();
    }

    /** Connections closed because a host did not send the data an R2T asked for within the R2T timeout. */
    public long r2tTimeouts() {
        return r2tTimeouts.get();
    }

    /** Connections closed because a send to the host made no progress for the send-stall timeout. */
    public long sendStalls() {
        return sendStalls.get();
    }

    /** Connections closed at accept because too many others had not yet connected. */
    public long refusedUnconnected() {
        return refusedUnconnected.get();
    }

    /** Native bytes held by connections themselves (receive/send buffers, SQE copies). */
    public long connectionBytes() {
        return connectionBytes.get();
    }

    /** Native bytes of the per-reactor data-buffer pools, shared by all connections. */
    public long poolBytes() {
        return poolBytes.get();
    }
}
