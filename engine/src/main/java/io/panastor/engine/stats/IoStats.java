package io.panastor.engine.stats;

/**
 * A bdev's IO statistics, as Mayastor's {@code IoStats}: successful reads, writes and unmaps
 * with their bytes and latencies (total, min and max, in nanoseconds from submit to
 * completion), summed over every reactor's channel; and the IOs of any type that failed.
 * A min is 0 while there has been no such IO. Immutable.
 */
public record IoStats(String name, String uuid, long numReadOps, long bytesRead, long numWriteOps, long bytesWritten,
                      long numUnmapOps, long bytesUnmapped, long readLatencyNanos, long writeLatencyNanos,
                      long unmapLatencyNanos, long maxReadLatencyNanos, long minReadLatencyNanos,
                      long maxWriteLatencyNanos, long minWriteLatencyNanos, long maxUnmapLatencyNanos,
                      long minUnmapLatencyNanos, long numErrors) {
}
