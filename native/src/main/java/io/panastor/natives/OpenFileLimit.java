package io.panastor.natives;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.panastor.bindings.sys_resource_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The process's limit on open files (RLIMIT_NOFILE): every NVMe/TCP connection is one, so an
 * engine that holds thousands raises its soft limit to the hard one at start and says when
 * even that is too low for what it was asked to do. Control plane only.
 *
 * @param soft the limit in force (after raising)
 * @param hard the most an unprivileged process may raise it to
 */
public record OpenFileLimit(long soft, long hard) {

    /** The limits now. */
    public static OpenFileLimit current() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = Errno.newCallState(a);
            MemorySegment r = a.allocate(sys_resource_h.RLIMIT_SIZE, 8);
            if (sys_resource_h.getrlimit(state, sys_resource_h.RLIMIT_NOFILE, r) != 0) {
                throw Errno.failure("getrlimit(RLIMIT_NOFILE)", state);
            }
            return new OpenFileLimit(r.get(JAVA_LONG, sys_resource_h.RLIM_CUR_OFFSET),
                    r.get(JAVA_LONG, sys_resource_h.RLIM_MAX_OFFSET));
        }
    }

    /** Raises the soft limit to the hard limit; returns the limits after. */
    public static OpenFileLimit raiseToHard() {
        OpenFileLimit now = current();
        if (now.soft == now.hard) {
            return now;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = Errno.newCallState(a);
            MemorySegment r = a.allocate(sys_resource_h.RLIMIT_SIZE, 8);
            r.set(JAVA_LONG, sys_resource_h.RLIM_CUR_OFFSET, now.hard);
            r.set(JAVA_LONG, sys_resource_h.RLIM_MAX_OFFSET, now.hard);
            if (sys_resource_h.setrlimit(state, sys_resource_h.RLIMIT_NOFILE, r) != 0) {
                throw Errno.failure("setrlimit(RLIMIT_NOFILE, " + now.hard + ")", state);
            }
        }
        return current();
    }

    /**
     * Raises the soft limit to at least {@code wanted}: to the hard limit, and above it when
     * the process may (root, CAP_SYS_RESOURCE; the kernel's fs.nr_open still caps it). Returns
     * the limits after; the caller checks {@link #allows}.
     */
    public static OpenFileLimit raiseAtLeast(long wanted) {
        OpenFileLimit now = raiseToHard();
        if (now.allows(wanted, 0)) {
            return now;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = Errno.newCallState(a);
            MemorySegment r = a.allocate(sys_resource_h.RLIMIT_SIZE, 8);
            r.set(JAVA_LONG, sys_resource_h.RLIM_CUR_OFFSET, wanted);
            r.set(JAVA_LONG, sys_resource_h.RLIM_MAX_OFFSET, wanted);
            sys_resource_h.setrlimit(state, sys_resource_h.RLIMIT_NOFILE, r);   // EPERM unprivileged: keep the hard limit
        }
        return current();
    }

    /**
     * Whether {@code wanted} more descriptors fit under the soft limit beside the ones a JVM
     * and an engine use anyway ({@code reserve}); RLIM_INFINITY always fits.
     */
    public boolean allows(long wanted, long reserve) {
        return soft == sys_resource_h.RLIM_INFINITY || Long.compareUnsigned(wanted + reserve, soft) <= 0;
    }
}
