package io.panastor.engine.nexus;

/**
 * Where a child is in its life, and so which IO it takes. A child is either healthy
 * ({@link #OPEN}: reads and writes), taking writes while it catches up ({@link #OUT_OF_SYNC};
 * the rebuild's state goes beside it), or out of the IO path ({@link #OFFLINE},
 * {@link #FAULTED}). Only an open child counts as healthy in the persisted child health.
 */
public enum ChildState {
    /** Healthy: a copy of the volume's data; takes reads and writes. */
    OPEN(true, true),
    /** Missed writes (added to a nexus with data, or brought back online): takes writes, not reads. */
    OUT_OF_SYNC(false, true),
    /** Taken out by the client for now; no IO. */
    OFFLINE(false, false),
    /** Failed or faulted by the client; no IO. The reason says why. */
    FAULTED(false, false);

    private final boolean readable;
    private final boolean writable;

    ChildState(boolean readable, boolean writable) {
        this.readable = readable;
        this.writable = writable;
    }

    /** Whether reads may be served from the child. */
    public boolean readable() {
        return readable;
    }

    /** Whether writes (and flushes, unmaps, write zeroes) go to the child. */
    public boolean writable() {
        return writable;
    }
}
