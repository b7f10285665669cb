package io.panastor.engine.bdev;

/** The kinds of IO a bdev may support, as SPDK's {@code spdk_bdev_io_type}. */
public enum IoType {
    READ,
    WRITE,
    FLUSH,
    UNMAP,
    WRITE_ZEROES,
    RESET
}
