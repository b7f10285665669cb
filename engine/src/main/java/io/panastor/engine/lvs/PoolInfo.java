package io.panastor.engine.lvs;

import java.util.UUID;

/**
 * What a pool reports (Mayastor's {@code Pool} message).
 *
 * @param name           the pool's name, unique on the engine
 * @param uuid           the pool's UUID, written in its superblock
 * @param disk           the URI of the disk (base bdev) it lives on
 * @param diskBdev       the name of that bdev (whose IO counters are the pool's)
 * @param state          ONLINE or FAULTED
 * @param capacityBytes  bytes of data clusters (the disk less the metadata)
 * @param usedBytes      bytes of clusters owned by replicas
 * @param committedBytes the replicas' sizes added up (thin ones count fully)
 * @param clusterSize    bytes per cluster
 * @param blockSize      the disk's block size
 * @param clusters       data clusters the pool has now
 * @param clusterLimit   the most clusters its metadata can describe (how far it can grow)
 * @param replicas       how many replicas it holds
 */
public record PoolInfo(String name, UUID uuid, String disk, String diskBdev, PoolState state, long capacityBytes, long usedBytes,
                       long committedBytes, long clusterSize, int blockSize, long clusters, long clusterLimit,
                       int replicas) {
    public long freeBytes() {
        return capacityBytes - usedBytes;
    }
}
