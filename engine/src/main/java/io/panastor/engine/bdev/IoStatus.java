package io.panastor.engine.bdev;

/**
 * How an IO ended. The data path completes with these codes and never throws; the
 * control path turns a code into a {@link BdevException} with {@link #describe}.
 */
public final class IoStatus {
    private IoStatus() {
    }

    public static final int SUCCESS = 0;
    /** The device failed the IO; {@link BdevIo#errno()} says how. */
    public static final int IO_ERROR = 1;
    /** The block range is empty or runs past the end of the bdev. */
    public static final int OUT_OF_RANGE = 2;
    /** The buffers do not add up to the block count, or violate the bdev's alignment. */
    public static final int BAD_BUFFER = 3;
    /** The bdev does not support this IO type. */
    public static final int UNSUPPORTED = 4;
    /** No submission slot was free; retry later. */
    public static final int NO_RESOURCES = 5;
    /** The channel is closing; the IO was not started. */
    public static final int ABORTED = 6;
    /** A thin volume's pool has no free cluster for the write: not the device's fault (NVMe Capacity Exceeded). */
    public static final int NO_SPACE = 7;

    public static String name(int status) {
        return switch (status) {
            case SUCCESS -> "SUCCESS";
            case IO_ERROR -> "IO_ERROR";
            case OUT_OF_RANGE -> "OUT_OF_RANGE";
            case BAD_BUFFER -> "BAD_BUFFER";
            case UNSUPPORTED -> "UNSUPPORTED";
            case NO_RESOURCES -> "NO_RESOURCES";
            case ABORTED -> "ABORTED";
            case NO_SPACE -> "NO_SPACE";
            default -> "STATUS_" + status;
        };
    }

    public static String describe(int status) {
        return switch (status) {
            case SUCCESS -> "success";
            case IO_ERROR -> "the device failed the IO";
            case OUT_OF_RANGE -> "the block range is empty or past the end of the bdev";
            case BAD_BUFFER -> "the buffers do not match the block count or are not aligned as the bdev needs";
            case UNSUPPORTED -> "the bdev does not support this IO type";
            case NO_RESOURCES -> "no submission slot was free";
            case ABORTED -> "the IO channel is closing";
            case NO_SPACE -> "the pool has no free space for the write";
            default -> "unknown status " + status;
        };
    }
}
