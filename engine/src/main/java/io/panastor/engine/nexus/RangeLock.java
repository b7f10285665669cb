package io.panastor.engine.nexus;

import io.panastor.reactor.Reactor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A block range locked against modifying IO on every channel of a nexus, as SPDK's bdev range
 * lock: each {@link NexusChannel} adds it to its locked list, answers once no write, unmap or
 * write zeroes in flight there overlaps it, and from then on queues any that does until the
 * range is unlocked. When every channel has answered, {@code onLocked} runs on the locker's
 * reactor. A rebuild copies a segment under one, so no user write can land on the destination
 * between the copy's read and its write.
 *
 * <p>Thread-safety: any thread; the answer count is atomic, the range immutable.
 */
final class RangeLock {
    final long firstBlock;
    /** One past the last block. */
    final long endBlock;
    private final Reactor owner;
    private final Runnable onLocked;
    /** Channels yet to answer, plus one that the locker drops once it has sent every message. */
    private final AtomicInteger unanswered = new AtomicInteger(1);

    RangeLock(long firstBlock, long numBlocks, Reactor owner, Runnable onLocked) {
        this.firstBlock = firstBlock;
        this.endBlock = firstBlock + numBlocks;
        this.owner = owner;
        this.onLocked = onLocked;
    }

    boolean overlaps(long first, long count) {
        return first < endBlock && first + count > firstBlock;
    }

    void expect(int channels) {
        unanswered.addAndGet(channels);
    }

    /** A channel (or the locker, once) answered; the last answer runs {@code onLocked} on the owner's reactor. */
    void answer() {
        if (unanswered.decrementAndGet() == 0) {
            owner.execute(onLocked);
        }
    }

    @Override
    public String toString() {
        return "[" + firstBlock + ", " + endBlock + ")";
    }
}
