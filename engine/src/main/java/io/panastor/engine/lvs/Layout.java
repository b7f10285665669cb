package io.panastor.engine.lvs;

import io.panastor.engine.error.EngineException;

/**
 * Where a pool's parts lie on its disk (see FORMAT.md): two superblock copies, two reserved
 * pages, checkpoint slots A and B, the log, then the data clusters from a cluster-aligned
 * offset. Fixed when the pool is created and written in its superblock.
 *
 * @param clusterLimit the most clusters the metadata is sized for: how far the pool can grow
 */
record Layout(long clusterSize, int blockSize, long diskBytes, long slotA, long slotBytes, long logStart,
              long logBytes, long dataStart, long clusterLimit) {
    static final int PAGE = 4096;
    static final long SLOT_A = 4L * PAGE;
    static final long LOG_BYTES = 1L << 20;
    static final long MAX_CLUSTER_SIZE = 1L << 30;
    static final long MAX_CLUSTERS = 1L << 24;

    long slotB() {
        return slotA + slotBytes;
    }

    long logPages() {
        return logBytes / PAGE;
    }

    /** Clusters a disk of {@code bytes} holds with this layout, up to the limit. */
    long clustersFor(long bytes) {
        return Math.min(clusterLimit, Math.max(0, (bytes - dataStart) / clusterSize));
    }

    long clusterOffset(long pcluster) {
        return dataStart + pcluster * clusterSize;
    }

    /** The layout for a new pool, or INVALID_ARGUMENT saying why there can be none. */
    static Layout plan(long clusterSize, int blockSize, long diskBytes) {
        if (clusterSize < PoolSpec.MIN_CLUSTER_SIZE || clusterSize > MAX_CLUSTER_SIZE || Long.bitCount(clusterSize) != 1) {
            throw invalid("cluster size " + clusterSize + " is not a power of two from 1 MiB to 1 GiB");
        }
        if (blockSize < 512 || blockSize > PAGE || Integer.bitCount(blockSize) != 1) {
            throw invalid("the disk's block size " + blockSize + " is not a power of two from 512 to 4096");
        }
        long clusters = diskBytes / clusterSize;
        long limit = Math.min(MAX_CLUSTERS, Math.max(1024, clusters * 4));
        long slotBytes = roundUp((1L << 20) + limit * 16, PAGE);
        long logStart = SLOT_A + 2 * slotBytes;
        long dataStart = roundUp(logStart + LOG_BYTES, clusterSize);
        Layout l = new Layout(clusterSize, blockSize, diskBytes, SLOT_A, slotBytes, logStart, LOG_BYTES, dataStart, limit);
        if (l.clustersFor(diskBytes) < 1) {
            throw invalid("the disk has " + diskBytes + " bytes; a pool with " + clusterSize
                    + "-byte clusters needs at least " + (dataStart + clusterSize) + " (metadata and one cluster)");
        }
        return l;
    }

    static long roundUp(long v, long to) {
        return (v + to - 1) / to * to;
    }

    private static EngineException invalid(String why) {
        return new EngineException(EngineException.Reason.INVALID_ARGUMENT, why);
    }
}
