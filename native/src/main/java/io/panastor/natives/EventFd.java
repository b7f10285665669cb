package io.panastor.natives;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.panastor.bindings.errno_h;
import io.panastor.bindings.sys_eventfd_h;
import io.panastor.bindings.unistd_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A non-blocking eventfd: other threads {@link #signal()} it to wake a reactor parked in
 * {@code io_uring_enter}, where a pending read of the eventfd completes.
 *
 * Thread-safety: {@link #signal()} from any thread; everything else on the owner's thread.
 */
public final class EventFd implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final int fd;
    /** The constant 1 that signal() writes; read-only, so every thread may share it. */
    private final MemorySegment one;
    /** errno of signal(): shared by signalling threads; only EAGAIN (counter full) can happen,
     *  and it is harmless, so a racing overwrite loses nothing. */
    private final MemorySegment signalCallState;
    private final MemorySegment ownerCallState;
    private final MemorySegment readBuffer;
    private volatile boolean closed;

    public EventFd() {
        signalCallState = Errno.newCallState(arena);
        ownerCallState = Errno.newCallState(arena);
        one = arena.allocate(JAVA_LONG);
        one.set(JAVA_LONG, 0, 1L);
        readBuffer = arena.allocate(JAVA_LONG, 1);
        fd = sys_eventfd_h.eventfd(ownerCallState, 0, sys_eventfd_h.EFD_NONBLOCK | sys_eventfd_h.EFD_CLOEXEC);
        if (fd < 0) {
            NativeException e = Errno.failure("eventfd", ownerCallState);
            arena.close();
            throw e;
        }
    }

    public int fd() {
        return fd;
    }

    /** An 8-byte buffer the owner may use to read the counter through io_uring. */
    public MemorySegment readBuffer() {
        return readBuffer;
    }

    /** Adds one to the counter, waking whoever waits on it. Any thread. */
    public void signal() {
        unistd_h.write(signalCallState, fd, one, Long.BYTES);
    }

    /** Reads and resets the counter without blocking; 0 when it was not signalled. */
    public long drain() {
        long n = unistd_h.read(ownerCallState, fd, readBuffer, Long.BYTES);
        if (n < 0) {
            int e = Errno.of(ownerCallState);
            if (e == errno_h.EAGAIN) {
                return 0;
            }
            throw new NativeException("read(eventfd)", e);
        }
        return readBuffer.get(JAVA_LONG, 0);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        unistd_h.close(ownerCallState, fd);
        arena.close();
    }
}
