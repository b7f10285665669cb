package io.panastor.engine.stats;

/**
 * The IO counters of one bdev on one reactor: successful reads, writes and unmaps (ops,
 * bytes, latency total/min/max) and failed IO of any type. Plain fields, updated by the
 * channel on each completion ({@link #onRead} and friends: a few adds and compares, no
 * allocation) and read, summed ({@link #addTo}) and zeroed ({@link #reset}) on the same
 * reactor, so they need no atomics. A bdev keeps one per reactor for its whole life, so a
 * channel that closes and is made again counts on where it left off.
 *
 * <p>Thread-safety: reactor-confined (the reactor of the channel that counts into it); a
 * copy made there ({@link #addTo} into a fresh one) may be handed to any thread.
 */
public final class IoCounters {
    /** The three kinds of IO counted apart. */
    private static final int READ = 0;
    private static final int WRITE = 1;
    private static final int UNMAP = 2;
    private static final int KINDS = 3;

    private final long[] ops = new long[KINDS];
    private final long[] bytes = new long[KINDS];
    private final long[] latency = new long[KINDS];
    private final long[] minLatency = new long[KINDS];
    private final long[] maxLatency = new long[KINDS];
    private long errors;

    public IoCounters() {
        reset();
    }

    public void onRead(long byteCount, long latencyNanos) {
        count(READ, byteCount, latencyNanos);
    }

    public void onWrite(long byteCount, long latencyNanos) {
        count(WRITE, byteCount, latencyNanos);
    }

    public void onUnmap(long byteCount, long latencyNanos) {
        count(UNMAP, byteCount, latencyNanos);
    }

    /** An IO of any type that completed with a failure status. */
    public void onError() {
        errors++;
    }

    private void count(int kind, long byteCount, long latencyNanos) {
        ops[kind]++;
        bytes[kind] += byteCount;
        latency[kind] += latencyNanos;
        if (latencyNanos < minLatency[kind]) {
            minLatency[kind] = latencyNanos;
        }
        if (latencyNanos > maxLatency[kind]) {
            maxLatency[kind] = latencyNanos;
        }
    }

    /** Adds these counters into {@code sum}: totals add, minima and maxima combine. */
    public void addTo(IoCounters sum) {
        for (int k = 0; k < KINDS; k++) {
            sum.ops[k] += ops[k];
            sum.bytes[k] += bytes[k];
            sum.latency[k] += latency[k];
            sum.minLatency[k] = Math.min(sum.minLatency[k], minLatency[k]);
            sum.maxLatency[k] = Math.max(sum.maxLatency[k], maxLatency[k]);
        }
        sum.errors += errors;
    }

    /** Back to zero. */
    public void reset() {
        for (int k = 0; k < KINDS; k++) {
            ops[k] = 0;
            bytes[k] = 0;
            latency[k] = 0;
            minLatency[k] = Long.MAX_VALUE;
            maxLatency[k] = 0;
        }
        errors = 0;
    }

    /** The counters as the statistics of bdev {@code name} ({@code uuid}); a min with no ops is 0. */
    public IoStats toStats(String name, String uuid) {
        return new IoStats(name, uuid, ops[READ], bytes[READ], ops[WRITE], bytes[WRITE], ops[UNMAP], bytes[UNMAP],
                latency[READ], latency[WRITE], latency[UNMAP], maxLatency[READ], min(READ), maxLatency[WRITE],
                min(WRITE), maxLatency[UNMAP], min(UNMAP), errors);
    }

    private long min(int kind) {
        return ops[kind] == 0 ? 0 : minLatency[kind];
    }
}
