package io.panastor.engine.bdev;

import io.panastor.engine.stats.IoCounters;
import io.panastor.reactor.Reactor;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * A block device: the unit everything in the data plane is built from (SPDK's
 * {@code spdk_bdev}). A kind (malloc, null, uring, later lvol, nexus, nvmf) implements this,
 * usually by extending {@link AbstractBdev}, and is created by its {@link BdevFactory}.
 *
 * <p>Thread-safety: the descriptive methods from any thread; {@link #channel} on the
 * reactor it names.
 */
public interface Bdev {
    String name();

    UUID uuid();

    /** Other names this bdev is found by (e.g. the URI it was created from). */
    List<String> aliases();

    /** What kind it is, as SPDK's product name ("Malloc disk", "URING bdev", ...). */
    String productName();

    /** The URI that creates this bdev. */
    String uri();

    int blockSize();

    long blockCount();

    default long sizeBytes() {
        return (long) blockSize() * blockCount();
    }

    /**
     * Looks at the device again for a new size (a disk that grew) and takes it; the block
     * count after. By default the size never changes. Control path.
     */
    default long rescan() {
        return blockCount();
    }

    /**
     * Whether any of blocks {@code [firstBlock, firstBlock + numBlocks)} may hold data; false
     * when all of them read as zeroes because nothing was ever written there (unallocated
     * clusters of a thin replica). A rebuild skips such ranges. True by default. Any thread,
     * on a reactor too: it must not block.
     */
    default boolean allocated(long firstBlock, long numBlocks) {
        return true;
    }

    /** Whether IO of this type is served; every kind so far serves all of them (null and malloc included). */
    default boolean supports(IoType type) {
        return true;
    }

    /** Alignment every data buffer must have (1 = any). */
    default int bufferAlignment() {
        return 1;
    }

    /** This bdev's channel on {@code reactor}, created on first use. Call on that reactor. */
    IoChannel channel(Reactor reactor);

    /**
     * This bdev's IO counters on {@code reactor}, or null while it has had no channel there.
     * Call on that reactor (they are confined to it); they survive its channel closing.
     */
    default IoCounters ioCounters(Reactor reactor) {
        return null;
    }

    /**
     * Closes every channel (each on its reactor, after its in-flight IO) and releases the
     * device. Control path; the future completes when all is released.
     */
    CompletableFuture<Void> destroy();
}
