package io.panastor.engine.lvs;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.error.EngineException;
import io.panastor.reactor.Reactor;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * A pool's metadata IO: blocking calls for its metadata thread, each run on the pool's home
 * reactor through the disk's channel there. Large transfers go in {@link #CHUNK} pieces, all
 * in flight at once. A failed IO throws an IO_ERROR {@link EngineException} saying where.
 *
 * <p>Thread-safety: the metadata thread only (never a reactor: it blocks).
 */
final class MdIo {
    static final long CHUNK = 1L << 20;

    private final Bdev disk;
    private final Reactor home;
    private final long blockSize;

    MdIo(Bdev disk, Reactor home) {
        this.disk = disk;
        this.home = home;
        this.blockSize = disk.blockSize();
    }

    Bdev disk() {
        return disk;
    }

    Reactor home() {
        return home;
    }

    void read(long offset, MemorySegment into) {
        run("read", offset, into.byteSize(), (piece) -> (io) -> io.prepareRead(piece.off / blockSize,
                piece.len / blockSize, into.asSlice(piece.off - offset, piece.len), null));
    }

    void write(long offset, MemorySegment from) {
        run("write", offset, from.byteSize(), (piece) -> (io) -> io.prepareWrite(piece.off / blockSize,
                piece.len / blockSize, from.asSlice(piece.off - offset, piece.len), null));
    }

    void writeZeroes(long offset, long length) {
        run("write zeroes", offset, length, (piece) -> (io) -> io.prepareWriteZeroes(piece.off / blockSize,
                piece.len / blockSize, null));
    }

    void unmap(long offset, long length) {
        run("unmap", offset, length, (piece) -> (io) -> io.prepareUnmap(piece.off / blockSize,
                piece.len / blockSize, null));
    }

    void flush() {
        run("flush", 0, 0, (piece) -> (io) -> io.prepareFlush(0, disk.blockCount(), null));
    }

    private record Piece(long off, long len) {
    }

    private void run(String what, long offset, long length, Function<Piece, Function<BdevIo, BdevIo>> prep) {
        long pieces = length == 0 ? 1 : (length + CHUNK - 1) / CHUNK;
        CompletableFuture<?>[] all = new CompletableFuture<?>[(int) pieces];
        for (int i = 0; i < pieces; i++) {
            long off = offset + i * CHUNK;
            Piece p = new Piece(off, Math.min(CHUNK, length - i * CHUNK));
            all[i] = one(what, p, prep.apply(p));
        }
        try {
            CompletableFuture.allOf(all).join();
        } catch (CompletionException e) {
            throw EngineException.of(e);
        }
    }

    private CompletableFuture<Void> one(String what, Piece p, Function<BdevIo, BdevIo> prepare) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            home.execute(() -> submit(what, p, prepare, done));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            done.completeExceptionally(new EngineException(EngineException.Reason.UNAVAILABLE, "the engine is stopping"));
        }
        return done;
    }

    private void submit(String what, Piece p, Function<BdevIo, BdevIo> prepare, CompletableFuture<Void> done) {
        try {
            IoChannel ch = disk.channel(home);
            BdevIo io = ch.allocIo();
            if (io == null) {
                // every descriptor is busy with data IO: try again next cycle
                home.execute(() -> submit(what, p, prepare, done));
                return;
            }
            BdevIo filled = prepare.apply(io);
            setCompletion(filled, done, what, p);
            ch.submit(filled);
        } catch (RuntimeException e) {
            done.completeExceptionally(new EngineException(EngineException.Reason.IO_ERROR, "metadata " + what + " of "
                    + disk.name() + " at byte " + p.off + " could not start: " + e.getMessage(), e));
        }
    }

    private void setCompletion(BdevIo io, CompletableFuture<Void> done, String what, Piece p) {
        io.context = done;
        io.reprepareCompletion(c -> {
            int status = c.status();
            int errno = c.errno();
            c.release();
            if (status == IoStatus.SUCCESS) {
                done.complete(null);
            } else {
                done.completeExceptionally(new EngineException(EngineException.Reason.IO_ERROR, "metadata " + what
                        + " of " + disk.name() + " at byte " + p.off + " (" + p.len + " bytes) failed: "
                        + IoStatus.describe(status) + (errno != 0 ? " (errno " + errno + ")" : "")));
            }
        });
    }
}
