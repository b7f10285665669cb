package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code <sys/socket.h>} and {@code <netinet/tcp.h>} (x86_64 Linux values). */
public final class sys_socket_h {
    private sys_socket_h() {
    }

    public static final int AF_INET = 2;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_NONBLOCK = 04000;
    public static final int SOCK_CLOEXEC = 02000000;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    public static final int SHUT_RDWR = 2;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_WAITALL = 0x100;

    private static final class socket {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("socket", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int socket(int domain, int type, int protocol)} */
    public static int socket(MemorySegment errno, int domain, int type, int protocol) {
        try {
            return (int) socket.HANDLE.invokeExact(errno, domain, type, protocol);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class bind {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("bind", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int bind(int fd, const struct sockaddr *addr, socklen_t len)} */
    public static int bind(MemorySegment errno, int fd, MemorySegment addr, int len) {
        try {
            return (int) bind.HANDLE.invokeExact(errno, fd, addr, len);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class listen {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("listen", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int listen(int fd, int backlog)} */
    public static int listen(MemorySegment errno, int fd, int backlog) {
        try {
            return (int) listen.HANDLE.invokeExact(errno, fd, backlog);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class setsockopt {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("setsockopt", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)} */
    public static int setsockopt(MemorySegment errno, int fd, int level, int optname, MemorySegment optval, int optlen) {
        try {
            return (int) setsockopt.HANDLE.invokeExact(errno, fd, level, optname, optval, optlen);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class getsockname {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("getsockname", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int getsockname(int fd, struct sockaddr *addr, socklen_t *len)} */
    public static int getsockname(MemorySegment errno, int fd, MemorySegment addr, MemorySegment len) {
        try {
            return (int) getsockname.HANDLE.invokeExact(errno, fd, addr, len);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class getpeername {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("getpeername", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int getpeername(int fd, struct sockaddr *addr, socklen_t *len)} */
    public static int getpeername(MemorySegment errno, int fd, MemorySegment addr, MemorySegment len) {
        try {
            return (int) getpeername.HANDLE.invokeExact(errno, fd, addr, len);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }

    private static final class shutdown {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle HANDLE = Downcalls.find("shutdown", DESC, Downcalls.CAPTURE_ERRNO);
    }

    /** {@code int shutdown(int fd, int how)} */
    public static int shutdown(MemorySegment errno, int fd, int how) {
        try {
            return (int) shutdown.HANDLE.invokeExact(errno, fd, how);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
