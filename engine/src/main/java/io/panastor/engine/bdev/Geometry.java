package io.panastor.engine.bdev;

/** Size of a memory-backed bdev from {@code size_mb} or {@code num_blocks} and {@code blk_size}. */
public record Geometry(int blockSize, long blockCount) {
    /** The parameters a memory-backed bdev's URI takes. */
    public static final java.util.Set<String> PARAMS = java.util.Set.of("size_mb", "num_blocks", "blk_size", "uuid");

    public static Geometry of(BdevUri uri, int defaultBlockSize) {
        int blockSize = uri.blockSize("blk_size", defaultBlockSize);
        boolean bySize = uri.param("size_mb") != null;
        boolean byBlocks = uri.param("num_blocks") != null;
        if (bySize == byBlocks) {
            throw BdevUri.invalid(uri.text(), "give exactly one of size_mb and num_blocks");
        }
        long blocks;
        if (bySize) {
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
