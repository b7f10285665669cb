package io.panastor.engine.bdev;

/**
 * Size of a memory-backed bdev from {@code size} (bytes as people write them: 512MiB, 1GiB,
 * 4096), {@code size_mb} (Mayastor's) or {@code num_blocks}, and {@code blk_size}.
 */
public record Geometry(int blockSize, long blockCount) {
    /** The parameters a memory-backed bdev's URI takes. */
    public static final java.util.Set<String> PARAMS = java.util.Set.of("size", "size_mb", "num_blocks", "blk_size", "uuid");

    public static Geometry of(BdevUri uri, int defaultBlockSize) {
        int blockSize = uri.blockSize("blk_size", defaultBlockSize);
        boolean byBytes = uri.param("size") != null;
        boolean bySize = uri.param("size_mb") != null;
        boolean byBlocks = uri.param("num_blocks") != null;
        if ((byBytes ? 1 : 0) + (bySize ? 1 : 0) + (byBlocks ? 1 : 0) != 1) {
            throw BdevUri.invalid(uri.text(), "give exactly one of size (e.g. 512MiB), size_mb and num_blocks");
        }
        long blocks;
        if (byBytes) {
            long bytes;
            try {
                bytes = ByteSize.parse(uri.param("size"));
            } catch (IllegalArgumentException e) {
                throw BdevUri.invalid(uri.text(), "size: " + e.getMessage());
            }
            if (bytes % blockSize != 0) {
                throw BdevUri.invalid(uri.text(), "size " + bytes + " is not a whole number of " + blockSize + "-byte blocks");
            }
            blocks = bytes / blockSize;
        } else if (bySize) {
            long mb = uri.positiveLong("size_mb", 0);
            if (mb > (Long.MAX_VALUE >> 20)) {
                throw BdevUri.invalid(uri.text(), "size_mb " + mb + " is too large");
            }
            blocks = (mb << 20) / blockSize;
        } else {
            blocks = uri.positiveLong("num_blocks", 0);
            if (blocks > Long.MAX_VALUE / blockSize) {
                throw BdevUri.invalid(uri.text(), "num_blocks " + blocks + " is too large");
            }
        }
        return new Geometry(blockSize, blocks);
    }
}
