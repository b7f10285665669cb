package io.panastor.engine.lvs;

import java.util.UUID;

/**
 * How to create a pool.
 *
 * @param name        the pool's name (1 to 128 bytes of UTF-8, no '/')
 * @param uuid        its UUID, or null for a random one
 * @param disk        the base bdev URI: a bare path, {@code uring:///path}, {@code malloc:///...}, {@code bdev:///name}
 * @param clusterSize bytes per cluster: a power of two from 1 MiB; 0 for the default, 4 MiB
 * @param overwrite   whether a disk that holds something other than a pool may be written over
 */
public record PoolSpec(String name, UUID uuid, String disk, long clusterSize, boolean overwrite) {
    public static final long DEFAULT_CLUSTER_SIZE = 4L << 20;
    public static final long MIN_CLUSTER_SIZE = 1L << 20;

    public static PoolSpec of(String name, String disk) {
        return new PoolSpec(name, null, disk, 0, false);
    }
}
