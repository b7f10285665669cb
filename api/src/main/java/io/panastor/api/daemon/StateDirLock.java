package io.panastor.api.daemon;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One engine per state directory: an exclusive lock on {@code engine.lock} in it, held while
 * the engine runs and dropped by the kernel if the process dies, so a crashed engine never
 * blocks the next one. The file holds the owner's pid, for the error the second one gives.
 */
final class StateDirLock implements AutoCloseable {
    static final String FILE = "engine.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private StateDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock, or fails with a message naming the directory and the engine that holds it. */
    static StateDirLock acquire(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException("--state-dir " + dir + ": cannot create it: " + e.getMessage(), e);
        }
        Path file = dir.resolve(FILE);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new IllegalStateException("--state-dir " + dir + ": cannot open " + file + ": " + e.getMessage(), e);
        }
        try {
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;       // held by this very process (another engine in the same JVM)
            }
            if (l == null) {
                String owner = Files.readString(file, StandardCharsets.US_ASCII).strip();
                ch.close();
                throw new IllegalStateException("another panastor engine" + (owner.isEmpty() ? "" : " (pid " + owner + ")")
                        + " is running on state dir " + dir + ": stop it, or give this one its own --state-dir");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            ch.force(false);
            return new StateDirLock(ch, l);
        } catch (IOException e) {
            try {
                ch.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new UncheckedIOException("--state-dir " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try (FileChannel ch = channel) {
            try {
                ch.truncate(0);
            } finally {
                lock.release();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
