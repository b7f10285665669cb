package io.panastor.engine.nexus;

import java.util.List;

/**
 * A nexus's persisted child health, as Mayastor's {@code NexusInfo}: whether it was shut down
 * cleanly, and which children held an up-to-date copy at the last change. After a crash the
 * owner reads it to know which children are fresh: only those marked healthy may be used as
 * the source of a volume's data.
 *
 * @param cleanShutdown true once the nexus was shut down or destroyed with every write on
 *                      its healthy children
 * @param children      every child, with its health
 */
public record HealthRecord(boolean cleanShutdown, List<ChildHealth> children) {
    public HealthRecord {
        children = List.copyOf(children);
    }

    /**
     * One child's health.
     *
     * @param uuid    its device's UUID (a replica's), the key the owner matches it by
     * @param uri     the URI it was added by
     * @param healthy whether it held every acknowledged write
     * @param log     for an unhealthy child that keeps one, the segments written since it left
     *                the IO path (trusted after a clean shutdown only); null otherwise
     */
    public record ChildHealth(String uuid, String uri, boolean healthy, Log log) {
        public ChildHealth(String uuid, String uri, boolean healthy) {
            this(uuid, uri, healthy, null);
        }
    }

    /**
     * A child's dirty-region log as persisted.
     *
     * @param sinceMillis   when the child left the IO path (epoch milliseconds)
     * @param segmentBlocks blocks per segment
     * @param blockCount    the nexus's size in blocks when the log began
     * @param dirty         the segments written since
     */
    public record Log(long sinceMillis, long segmentBlocks, long blockCount, java.util.BitSet dirty) {
        public Log {
            dirty = (java.util.BitSet) dirty.clone();
        }

        @Override
        public java.util.BitSet dirty() {
            return (java.util.BitSet) dirty.clone();
        }
    }
}
