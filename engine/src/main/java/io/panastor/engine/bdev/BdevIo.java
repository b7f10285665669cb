package io.panastor.engine.bdev;

import java.lang.foreign.MemorySegment;

/**
 * One IO descriptor, pooled by its {@link IoChannel} and reused: what to do (type, block
 * range, scatter/gather buffers), whom to tell, and how it ended. Obtained from
 * {@link IoChannel#allocIo()}, filled with one of the {@code prepare*} methods, passed to
 * {@link IoChannel#submit}, and given back with {@link #release()}.
 *
 * Thread-safety: reactor-confined to its channel's reactor.
 */
public final class BdevIo {
    /** Most buffers one IO may scatter into or gather from. */
    public static final int MAX_IOVS = 32;

    private final IoChannel channel;
    private final int index;
    final MemorySegment[] iovs = new MemorySegment[MAX_IOVS];
    int iovCount;
    IoType type;
    long offsetBlocks;
    long numBlocks;
    IoCompletion completion;
    int status;
    int errno;
    boolean inUse;
    /** The channel's clock when it was submitted, for its latency. */
    long submitNanos;
    /** Free for the submitter: e.g. a request it belongs to. */
    public Object context;
    /** Free for the submitter: e.g. a submission timestamp. */
    public long tag;

    BdevIo(IoChannel channel, int index) {
        this.channel = channel;
        this.index = index;
    }

    public BdevIo prepareRead(long offsetBlocks, long numBlocks, MemorySegment buffer, IoCompletion completion) {
        return prepare(IoType.READ, offsetBlocks, numBlocks, completion).addBuffer(buffer);
    }

    public BdevIo prepareWrite(long offsetBlocks, long numBlocks, MemorySegment buffer, IoCompletion completion) {
        return prepare(IoType.WRITE, offsetBlocks, numBlocks, completion).addBuffer(buffer);
    }

    /** Read or write with no buffer yet: add them with {@link #addBuffer}. */
    public BdevIo prepareVectored(IoType type, long offsetBlocks, long numBlocks, IoCompletion completion) {
        if (type != IoType.READ && type != IoType.WRITE) {
            throw new IllegalArgumentException("only READ and WRITE carry buffers, not " + type);
        }
        return prepare(type, offsetBlocks, numBlocks, completion);
    }

    public BdevIo prepareFlush(long offsetBlocks, long numBlocks, IoCompletion completion) {
        return prepare(IoType.FLUSH, offsetBlocks, numBlocks, completion);
    }

    public BdevIo prepareUnmap(long offsetBlocks, long numBlocks, IoCompletion completion) {
        return prepare(IoType.UNMAP, offsetBlocks, numBlocks, completion);
    }

    public BdevIo prepareWriteZeroes(long offsetBlocks, long numBlocks, IoCompletion completion) {
        return prepare(IoType.WRITE_ZEROES, offsetBlocks, numBlocks, completion);
    }

    public BdevIo prepareReset(IoCompletion completion) {
        return prepare(IoType.RESET, 0, 0, completion);
    }

    private BdevIo prepare(IoType type, long offsetBlocks, long numBlocks, IoCompletion completion) {
        this.type = type;
        this.offsetBlocks = offsetBlocks;
        this.numBlocks = numBlocks;
        this.completion = completion;
        this.iovCount = 0;
        this.status = IoStatus.SUCCESS;
        this.errno = 0;
        return this;
    }

    /**
     * Makes this the same IO as {@code other} — type, block range, and the same buffers, not
     * copies — for another bdev's channel, ending with {@code completion}: how a bdev that
     * forwards IO (a nexus to its children, a wrapper to its base) passes one on.
     */
    public BdevIo prepareLike(BdevIo other, IoCompletion completion) {
        prepare(other.type, other.offsetBlocks, other.numBlocks, completion);
        for (int i = 0; i < other.iovCount; i++) {
            addBuffer(other.iovs[i]);
        }
        return this;
    }

    /** Replaces the completion a {@code prepare*} call set (for a caller that fills the IO elsewhere). */
    public BdevIo reprepareCompletion(IoCompletion completion) {
        this.completion = completion;
        return this;
    }

    /** Zeroes {@code length} bytes of this IO's buffers from {@code from} bytes into them. */
    public void zeroBuffers(long from, long length) {
        for (int i = 0; i < iovCount && length > 0; i++) {
            MemorySegment b = iovs[i];
            if (from >= b.byteSize()) {
                from -= b.byteSize();
                continue;
            }
            long n = Math.min(b.byteSize() - from, length);
            b.asSlice(from, n).fill((byte) 0);
            length -= n;
            from = 0;
        }
    }

    /** Appends a buffer to the scatter/gather list. */
    public BdevIo addBuffer(MemorySegment buffer) {
        if (iovCount == MAX_IOVS) {
            throw new IllegalStateException("an IO takes at most " + MAX_IOVS + " buffers");
        }
        iovs[iovCount++] = buffer;
        return this;
    }

    /**
     * Copies {@code length} bytes of this IO's buffers, starting {@code from} bytes into them,
     * to {@code dst} at {@code at} (gathering across buffers).
     */
    public void copyFromBuffers(long from, MemorySegment dst, long at, long length) {
        copy(from, dst, at, length, false);
    }

    /**
     * Copies {@code length} bytes from {@code src} at {@code at} into this IO's buffers,
     * starting {@code to} bytes into them (scattering across buffers).
     */
    public void copyToBuffers(MemorySegment src, long at, long to, long length) {
        copy(to, src, at, length, true);
    }

    private void copy(long skip, MemorySegment other, long at, long length, boolean intoBuffers) {
        for (int i = 0; i < iovCount && length > 0; i++) {
            MemorySegment b = iovs[i];
            if (skip >= b.byteSize()) {
                skip -= b.byteSize();
                continue;
            }
            long n = Math.min(b.byteSize() - skip, length);
            if (intoBuffers) {
                MemorySegment.copy(other, at, b, skip, n);
            } else {
                MemorySegment.copy(b, skip, other, at, n);
            }
            at += n;
            length -= n;
            skip = 0;
        }
    }

    /** Gives the descriptor back to its channel's pool. */
    public void release() {
        channel.releaseIo(this);
    }

    public IoType type() {
        return type;
    }

    public long offsetBlocks() {
        return offsetBlocks;
    }

    public long numBlocks() {
        return numBlocks;
    }

    public int bufferCount() {
        return iovCount;
    }

    public MemorySegment buffer(int i) {
        return iovs[i];
    }

    /** {@link IoStatus} code once complete. */
    public int status() {
        return status;
    }

    public boolean succeeded() {
        return status == IoStatus.SUCCESS;
    }

    /** The errno behind an {@link IoStatus#IO_ERROR}, else 0. */
    public int errno() {
        return errno;
    }

    public IoChannel channel() {
        return channel;
    }

    public int index() {
        return index;
    }

    @Override
    public String toString() {
        return type + " " + numBlocks + " blocks @ " + offsetBlocks + " on " + channel.bdev().name();
    }
}
