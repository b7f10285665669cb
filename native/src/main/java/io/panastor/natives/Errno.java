package io.panastor.natives;

import io.panastor.bindings.errno_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** errno names and descriptions, and the call-state segments that capture errno. Any thread. */
public final class Errno {
    private static final int MAX_CACHED = 134;
    private static final String[] NAMES = new String[MAX_CACHED];

    private Errno() {
    }

    public static final int ENOENT = errno_h.ENOENT;
    public static final int EIO = errno_h.EIO;
    public static final int EBADF = errno_h.EBADF;
    public static final int EAGAIN = errno_h.EAGAIN;
    public static final int EINVAL = errno_h.EINVAL;
    public static final int EISDIR = errno_h.EISDIR;
    public static final int ENODEV = errno_h.ENODEV;
    public static final int ENOSPC = errno_h.ENOSPC;
    public static final int EOPNOTSUPP = errno_h.EOPNOTSUPP;
    public static final int ETIMEDOUT = errno_h.ETIMEDOUT;
    public static final int ENOMEM = errno_h.ENOMEM;
    public static final int EACCES = errno_h.EACCES;
    public static final int EBUSY = errno_h.EBUSY;
    public static final int EEXIST = errno_h.EEXIST;
    public static final int ENFILE = errno_h.ENFILE;
    public static final int EMFILE = errno_h.EMFILE;
    public static final int EPROTO = errno_h.EPROTO;
    public static final int EADDRINUSE = errno_h.EADDRINUSE;
    public static final int EADDRNOTAVAIL = errno_h.EADDRNOTAVAIL;

    /** A call-state segment for {@code Linker.Option.captureCallState("errno")}, owned by {@code arena}. */
    public static MemorySegment newCallState(Arena arena) {
        return arena.allocate(errno_h.captureStateLayout());
    }

    /** The errno captured in {@code callState}. */
    public static int of(MemorySegment callState) {
        return errno_h.errno(callState);
    }

    /** The symbolic name, e.g. {@code ENOENT}; {@code errno 999} when libc has none. */
    public static String name(int errno) {
        if (errno > 0 && errno < MAX_CACHED) {
            String cached = NAMES[errno];
            if (cached != null) {
                return cached;
            }
        }
        MemorySegment p = errno_h.strerrorname_np(errno);
        String name = p.equals(MemorySegment.NULL) ? "errno " + errno : p.reinterpret(64).getString(0);
        if (errno > 0 && errno < MAX_CACHED) {
            NAMES[errno] = name;
        }
        return name;
    }

    /** The human description of strerror(3). */
    public static String describe(int errno) {
        return errno_h.strerror(errno).reinterpret(256).getString(0);
    }

    /** A {@link NativeException} for the errno in {@code callState}. */
    static NativeException failure(String operation, MemorySegment callState) {
        return new NativeException(operation, of(callState));
    }
}
