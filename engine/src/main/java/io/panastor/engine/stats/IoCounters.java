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
    /** One kind of IO: how many, their bytes, and their latencies. */
    private static final class Kind {
        long ops;
        long bytes;
        long latency;
        long minLatency = Long.MAX_VALUE;
        long maxLatency;

        void count(long byteCount, long latencyNanos) {
            ops++;
            bytes += byteCount;
            latency += latencyNanos;
            if (latencyNanos < minLatency) {
                minLatency = latencyNanos;
            }
            if (latencyNanos > maxLatency) {
                maxLatency = latencyNanos;
            }
        }

        void addTo(Kind sum) {
            sum.ops += ops;
            sum.bytes += bytes;
            sum.latency += latency;
            sum.minLatency = Math.min(sum.minLatency, minLatency);
            sum.maxLatency = Math.max(sum.maxLatency, maxLatency);
        }

        void reset() {
            ops = 0;
            bytes = 0;
            latency = 0;
            minLatency = Long.MAX_VALUE;
            maxLatency = 0;
        }

        /** The least latency, 0 while there has been no IO. */
        long min() {
            return ops == 0 ? 0 : minLatency;
        }
    }

    private final Kind read = new Kind();
    private final Kind write = new Kind();
    private final Kind unmap = new Kind();
    private long errors;

    public void onRead(long byteCount, long latencyNanos) {
        read.count(byteCount, latencyNanos);
    }

    public void onWrite(long byteCount, long latencyNanos) {
        write.count(byteCount, latencyNanos);
    }

    public void onUnmap(long byteCount, long latencyNanos) {
        unmap.count(byteCount, latencyNanos);
    }

    /** An IO of any type that completed with a failure status. */
    public void onError() {
        errors++;
    }

    /** Adds these counters into {@code sum}: totals add, minima and maxima combine. */
    public void addTo(IoCounters sum) {
        read.addTo(sum.read);
        write.addTo(sum.write);
        unmap.addTo(sum.unmap);
        sum.errors += errors;
    }

    /** Back to zero. */
    public void reset() {
        read.reset();
        write.reset();
        unmap.reset();
        errors = 0;
    }

    /** The counters as the statistics of bdev {@code name} ({@code uuid}); a min with no ops is 0. */
    public IoStats toStats(String name, String uuid) {
        return new IoStats(name, uuid, read.ops, read.bytes, write.ops, write.bytes, unmap.ops, unmap.bytes,
                read.latency, write.latency, unmap.latency, read.maxLatency, read.min(), write.maxLatency, write.min(),
                unmap.maxLatency, unmap.min(), errors);
    }
}
