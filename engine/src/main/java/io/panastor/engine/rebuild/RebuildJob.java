package io.panastor.engine.rebuild;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.error.EngineException;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Clock;
import java.time.Instant;
import java.util.BitSet;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One child's rebuild: copies the volume's segments from a healthy child (the source) to the
 * child being rebuilt (the destination) on one reactor, several segments in flight. Each
 * segment is copied under a range lock of the nexus ({@link RebuildTarget#lock}), so no user
 * write to it is in flight while it is read from the source and written to the destination,
 * and user writes that come after reach both: the destination ends up with the last write to
 * every block. Once the lock is granted the job checks that its source is still healthy and
 * its destination still writable; a segment unallocated on the source (a thin replica that
 * never wrote it) is zeroed on the destination where the destination holds data, and skipped
 * where it does not.
 *
 * <p>A full job copies every segment; a partial one those set in the dirty map it was given.
 * A failed read faults that source and the segment is read again from another; with none
 * left, or a failed write, the job fails. Pause lets the segments in flight end and starts no
 * more; stop does the same and ends the job. When every segment is done the target makes the
 * child healthy, on a virtual thread (it persists the child's health), and only then does
 * the job say COMPLETED.
 *
 * <p>Thread-safety: the copy runs on the target's reactor; {@link #pause}, {@link #resume},
 * {@link #stop} and {@link #stats} from any thread.
 */
public final class RebuildJob {
    private static final System.Logger LOG = System.getLogger(RebuildJob.class.getName());
    /** Segment size when the caller does not say: 128 KiB, as Mayastor's. */
    public static final long DEFAULT_SEGMENT_BYTES = 128 * 1024;
    /** Segments in flight at once. */
    public static final int DEFAULT_TASKS = 8;

    private final RebuildTarget target;
    private final RebuildKind kind;
    private final Reactor reactor;
    private final Clock clock;
    private final long blockCount;
    private final long segmentBlocks;
    private final long segments;
    /** Segments to copy (a partial job), or null: all of them. */
    private final BitSet dirty;
    private final long segmentsTotal;
    private final long blocksTotal;
    private final Slot[] slots;
    private final CompletableFuture<RebuildStats> finished = new CompletableFuture<>();
    private java.util.function.LongConsumer bytesDone = n -> { };
    private java.util.function.Consumer<RebuildStats> onEnd;
    /** Pauses waiting for the segments in flight to end (reactor-confined). */
    private final java.util.List<CompletableFuture<Void>> pausing = new java.util.ArrayList<>();

    // Reactor-confined.
    private RebuildTarget.Source source;
    private IoChannel sourceChannel;
    private IoChannel destChannel;
    private final Set<String> failedSources = new HashSet<>();
    private Arena arena;
    private long cursor;
    private int active;
    private boolean pauseAsked;
    private boolean stopAsked;
    private boolean copied;
    private boolean failed;
    private volatile long runningSinceNanos;

    // Read by stats() from any thread.
    private volatile RebuildState state = RebuildState.QUEUED;
    private volatile String failure;
    private volatile String sourceUri;
    private volatile long segmentsDone;
    private volatile long blocksDone;
    private volatile long blocksTransferred;
    private volatile int tasksActive;
    private volatile long runNanos;
    private volatile Instant started;
    private volatile Instant ended;

    /**
     * A job on {@code target} of {@code blockCount} blocks in segments of
     * {@code segmentBlocks}; {@code dirty} (segment bits, null for a full job) says which to copy.
     */
    public RebuildJob(RebuildTarget target, RebuildKind kind, long blockCount, long segmentBlocks, BitSet dirty,
                      int tasks, Clock clock) {
        if (segmentBlocks <= 0 || tasks <= 0) {
            throw new IllegalArgumentException("segment blocks and tasks must be above 0");
        }
        if ((kind == RebuildKind.PARTIAL) != (dirty != null)) {
            throw new IllegalArgumentException("a partial rebuild, and only one, has a dirty map");
        }
        this.target = target;
        this.kind = kind;
        this.reactor = target.reactor();
        this.clock = clock;
        this.blockCount = blockCount;
        this.segmentBlocks = segmentBlocks;
        this.segments = (blockCount + segmentBlocks - 1) / segmentBlocks;
        this.dirty = dirty == null ? null : (BitSet) dirty.clone();
        if (this.dirty != null && this.dirty.length() > segments) {
            this.dirty.clear((int) segments, this.dirty.length());
        }
        long total = 0;
        long blocks = 0;
        for (long s = nextSegment(0); s < segments; s = nextSegment(s + 1)) {
            total++;
            blocks += segmentLength(s);
        }
        this.segmentsTotal = total;
        this.blocksTotal = blocks;
        this.slots = new Slot[tasks];
        for (int i = 0; i < tasks; i++) {
            slots[i] = new Slot();
        }
    }

    /** Called with the bytes of each segment done (the engine's counter). */
    void onBytesDone(java.util.function.LongConsumer counter) {
        this.bytesDone = counter;
    }

    public RebuildKind kind() {
        return kind;
    }

    public RebuildState state() {
        return state;
    }

    public String childUri() {
        return target.destinationUri();
    }

    public String nexusName() {
        return target.nexusName();
    }

    /** Completes with the job's final stats once it reached a final state (and, run by the engine, its history is saved). */
    public CompletableFuture<RebuildStats> finished() {
        return finished;
    }

    public RebuildStats stats() {
        RebuildState st = state;
        long run = runNanos;
        if (st == RebuildState.RUNNING && runningSinceNanos != 0) {
            run += System.nanoTime() - runningSinceNanos;
        }
        long bytes = blocksDone * target.blockSize();
        long rate = run <= 0 ? 0 : (long) (bytes / (run / 1e9));
        return new RebuildStats(target.nexusName(), target.nexusUuid(), target.destinationUri(), sourceUri, kind, st,
                failure, target.blockSize(), segmentBlocks, segmentsTotal, segmentsDone, blocksTotal, blocksDone,
                blocksTransferred, tasksActive, slots.length, started, ended, rate);
    }

    // ------------------------------------------------------------------ control (any thread)

    /** Starts copying (the engine gave it a slot). */
    void start() {
        reactor.execute(this::begin);
    }

    /**
     * Pauses a running job: it is PAUSED at once and starts no new segments. The future
     * completes once the segments in flight have ended (or, if it ends or is resumed first, then).
     */
    public CompletableFuture<Void> pause() {
        CompletableFuture<Void> paused = new CompletableFuture<>();
        reactor.execute(() -> {
            RebuildState st = state;
            if (st == RebuildState.PAUSED || st.finished() || stopAsked || copied) {
                paused.complete(null);
            } else if (st != RebuildState.RUNNING) {
                paused.completeExceptionally(new EngineException(EngineException.Reason.BUSY, "the rebuild of "
                        + childUri() + " is " + st.name().toLowerCase() + ": only a running one pauses"));
            } else {
                pauseAsked = true;
                runNanos += System.nanoTime() - runningSinceNanos;
                runningSinceNanos = 0;
                state = RebuildState.PAUSED;
                pausing.add(paused);
                settle();
            }
        });
        return paused;
    }

    /** Completes the pauses asked for: the job paused, was resumed first, or ended. */
    private void pausesAnswered() {
        for (CompletableFuture<Void> p : pausing) {
            p.complete(null);
        }
        pausing.clear();
    }

    /** Resumes a paused job. */
    public CompletableFuture<Void> resume() {
        return reactor.run(() -> {
            if (state != RebuildState.PAUSED && !pauseAsked) {
                return;
            }
            pauseAsked = false;
            pausesAnswered();
            if (state == RebuildState.PAUSED) {
                state = RebuildState.RUNNING;
                runningSinceNanos = System.nanoTime();
            }
            fill();
        });
    }

    /**
     * Stops the job: its segments in flight end and it is STOPPED (unless it completed or
     * failed first). The future completes when it reached its final state.
     */
    public CompletableFuture<RebuildStats> stop(String why) {
        reactor.execute(() -> {
            if (state.finished() || stopAsked || copied) {
                return;
            }
            stopAsked = true;
            if (failure == null) {
                failure = why;
            }
            if (state == RebuildState.QUEUED) {
                end(RebuildState.STOPPED);
            } else {
                settle();
            }
        });
        return finished;
    }

    // ------------------------------------------------------------------ the copy (reactor)

    private void begin() {
        if (state != RebuildState.QUEUED) {
            return;
        }
        started = clock.instant();
        state = RebuildState.RUNNING;
        runningSinceNanos = System.nanoTime();
        try {
            destChannel = target.destination().channel(reactor);
            if (!pickSource()) {
                fail("no healthy child of nexus " + target.nexusName() + " to rebuild " + childUri() + " from");
                return;
            }
            arena = Arena.ofShared();
            long bytes = segmentBlocks * target.blockSize();
            for (Slot s : slots) {
                s.buffer = arena.allocate(bytes, Math.max(target.bufferAlignment(), 8));
            }
        } catch (RuntimeException e) {
            fail("the rebuild of " + childUri() + " could not start: " + e.getMessage());
            return;
        }
        LOG.log(System.Logger.Level.INFO, "nexus {0}: {1} rebuild of {2} from {3}: {4} segments",
                target.nexusName(), kind.name().toLowerCase(), childUri(), sourceUri, segmentsTotal);
        fill();
    }

    private boolean pickSource() {
        while (true) {
            RebuildTarget.Source s = target.source(failedSources);
            if (s == null) {
                return false;
            }
            try {
                sourceChannel = s.bdev().channel(reactor);
            } catch (RuntimeException e) {
                failedSources.add(s.uri());
                continue;
            }
            source = s;
            sourceUri = s.uri();
            return true;
        }
    }

    /** Starts segments on every idle slot, while there are segments left and nothing asks it to wait. */
    private void fill() {
        for (Slot s : slots) {
            if (!s.busy) {
                if (!next(s)) {
                    break;
                }
            }
        }
        settle();
    }

    /** Starts the next segment on {@code s}; false when none was started. */
    private boolean next(Slot s) {
        if (state != RebuildState.RUNNING || pauseAsked || stopAsked || failure != null) {
            return false;
        }
        long seg = nextSegment(cursor);
        if (seg >= segments) {
            return false;
        }
        cursor = seg + 1;
        s.busy = true;
        s.segment = seg;
        s.first = seg * segmentBlocks;
        s.count = segmentLength(seg);
        active++;
        tasksActive = active;
        s.lock = target.lock(s.first, s.count, s.onLocked);
        return true;
    }

    private long nextSegment(long from) {
        if (from >= segments) {
            return segments;
        }
        if (dirty == null) {
            return from;
        }
        int n = dirty.nextSetBit((int) from);
        return n < 0 ? segments : n;
    }

    private long segmentLength(long seg) {
        return Math.min(segmentBlocks, blockCount - seg * segmentBlocks);
    }

    /** One segment in flight: its lock, its buffer and where it is. */
    private final class Slot {
        boolean busy;
        long segment;
        long first;
        long count;
        Object lock;
        MemorySegment buffer;
        /** The source its read went to (the job's may have switched since). */
        RebuildTarget.Source readFrom;
        final Runnable onLocked = this::locked;
        final io.panastor.engine.bdev.IoCompletion onRead = this::readDone;
        final io.panastor.engine.bdev.IoCompletion onWrite = this::writeDone;
        final Runnable retry = this::copy;

        private void locked() {
            if (stopAsked || failure != null) {
                release(false);
                return;
            }
            if (!target.destinationWritable()) {
                fail("child " + childUri() + " no longer takes writes");
                release(false);
                return;
            }
            if (!target.readable(source) && !pickSource()) {
                fail("no healthy child left to rebuild " + childUri() + " from");
                release(false);
                return;
            }
            copy();
        }

        /** Under the lock: reads the segment from the source (or zeroes it where the source has nothing). */
        private void copy() {
            if (!source.bdev().allocated(first, count)) {
                if (!target.destination().allocated(first, count)) {
                    release(true);
                    return;
                }
                BdevIo io = destChannel.allocIo();
                if (io == null) {
                    later();
                    return;
                }
                io.prepareWriteZeroes(first, count, onWrite);
                io.tag = 0;
                destChannel.submit(io);
                return;
            }
            BdevIo io = sourceChannel.allocIo();
            if (io == null) {
                later();
                return;
            }
            io.prepareRead(first, count, buffer.asSlice(0, count * target.blockSize()), onRead);
            readFrom = source;
            sourceChannel.submit(io);
        }

        private void later() {
            reactor.scheduleTimer(0, retry);
        }

        private void readDone(BdevIo io) {
            int status = io.status();
            int errno = io.errno();
            io.release();
            if (status != IoStatus.SUCCESS) {
                if (status == IoStatus.NO_RESOURCES) {
                    later();
                    return;
                }
                RebuildTarget.Source bad = readFrom;
                failedSources.add(bad.uri());
                target.sourceFailed(bad, status, errno);
                LOG.log(System.Logger.Level.WARNING, "nexus {0}: rebuild of {1}: source {2} failed a read ({3}, errno {5}) of blocks at {4}",
                        target.nexusName(), childUri(), bad.uri(), IoStatus.name(status), first, errno);
                if (stopAsked || failure != null) {
                    release(false);
                } else if (source != bad && target.readable(source)) {
                    copy();    // another segment switched already
                } else if (pickSource()) {
                    copy();
                } else {
                    fail("source " + bad.uri() + " failed a read (" + IoStatus.name(status)
                            + ") and no other healthy child is left to rebuild " + childUri() + " from");
                    release(false);
                }
                return;
            }
            BdevIo w = destChannel.allocIo();
            if (w == null) {
                later();      // read again: simpler than keeping the data aside, and rare
                return;
            }
            w.prepareWrite(first, count, buffer.asSlice(0, count * target.blockSize()), onWrite);
            w.tag = 1;
            destChannel.submit(w);
        }

        private void writeDone(BdevIo io) {
            int status = io.status();
            int errno = io.errno();
            boolean transferred = io.tag == 1;
            io.release();
            if (status == IoStatus.NO_RESOURCES) {
                later();
                return;
            }
            if (status != IoStatus.SUCCESS) {
                target.destinationFailed(status, errno);
                fail("child " + childUri() + " failed a rebuild write (" + IoStatus.name(status) + ")");
                release(false);
                return;
            }
            if (transferred) {
                blocksTransferred += count;
            }
            release(true);
        }

        /** Unlocks the segment; counts it when {@code done}; starts the next one. */
        private void release(boolean done) {
            target.unlock(lock);
            lock = null;
            busy = false;
            active--;
            tasksActive = active;
            if (done) {
                segmentsDone++;
                blocksDone += count;
                bytesDone.accept(count * target.blockSize());
            }
            if (!next(this)) {
                settle();
            }
        }
    }

    private void fail(String why) {
        if (failure == null) {
            failure = why;
        }
        if (!stopAsked) {
            stopAsked = true;
            failed = true;
        }
        settle();
    }

    /** Moves the job on once nothing is in flight: paused, stopped, failed, or copied. */
    private void settle() {
        if (active > 0 || state.finished() || copied) {
            return;
        }
        if (failed) {
            copied = true;    // no second end
            String why = failure;
            Thread.ofVirtual().name("rebuild-end-" + target.nexusName()).start(() -> {
                try {
                    target.failed(why);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "rebuild of {0}: its failure not recorded: {1}", childUri(), e);
                }
                reactor.execute(() -> end(RebuildState.FAILED));
            });
            return;
        }
        if (stopAsked) {
            end(RebuildState.STOPPED);
            return;
        }
        if (pauseAsked) {
            pausesAnswered();
            return;
        }
        if (state == RebuildState.RUNNING && nextSegment(cursor) >= segments) {
            copied = true;
            Thread.ofVirtual().name("rebuild-end-" + target.nexusName()).start(this::complete);
        }
    }

    /** Every segment is copied: the child becomes healthy (persisted), then the job is COMPLETED. */
    private void complete() {
        boolean ok;
        String why = null;
        try {
            ok = target.completed();
            if (!ok) {
                why = "child " + childUri() + " changed before its rebuild could complete";
            }
        } catch (Exception e) {
            ok = false;
            why = "child " + childUri() + " was copied but could not be made healthy: " + e.getMessage();
        }
        boolean done = ok;
        String reason = why;
        if (!done) {
            try {
                target.failed(reason);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "rebuild of {0}: its failure not recorded: {1}", childUri(), e);
            }
        }
        reactor.execute(() -> {
            if (!done) {
                failure = reason;
            }
            end(done ? RebuildState.COMPLETED : RebuildState.FAILED);
        });
    }

    private void end(RebuildState to) {
        if (state.finished()) {
            return;
        }
        if (state == RebuildState.RUNNING && runningSinceNanos != 0) {
            runNanos += System.nanoTime() - runningSinceNanos;
            runningSinceNanos = 0;
        }
        if (to == RebuildState.COMPLETED) {
            failure = null;
        }
        ended = clock.instant();
        state = to;
        if (arena != null) {
            arena.close();
            arena = null;
        }
        RebuildStats last = stats();
        LOG.log(to == RebuildState.COMPLETED ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                "nexus {0}: rebuild of {1} {2}{3}", target.nexusName(), childUri(), to.name().toLowerCase(),
                last.failure() == null ? "" : ": " + last.failure());
        pausesAnswered();
        if (onEnd != null) {
            onEnd.accept(last);     // the engine's bookkeeping: history, release, then complete
            return;
        }
        try {
            release();
        } finally {
            complete(last);
        }
    }

    /** Set by the engine's {@link Rebuilds}: what happens at the end instead of {@link #release} and {@link #complete}. */
    void onEnd(java.util.function.Consumer<RebuildStats> hook) {
        this.onEnd = hook;
    }

    /** Tells the target the job has ended: the child no longer has it. */
    void release() {
        target.ended(this);
    }

    /** Completes {@link #finished}: the last step of the end. */
    void complete(RebuildStats last) {
        finished.complete(last);
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase() + " rebuild of " + childUri() + " in nexus " + target.nexusName();
    }

    /** Bdev of the destination, for the engine's bookkeeping. */
    Bdev destination() {
        return target.destination();
    }
}
