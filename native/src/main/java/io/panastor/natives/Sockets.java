package io.panastor.natives;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.panastor.bindings.sockaddr_in;
import io.panastor.bindings.sys_socket_h;
import io.panastor.bindings.unistd_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/**
 * TCP sockets as plain fds for io_uring: a listening socket made here, accepts, receives
 * and sends submitted through an {@link IoUring}. IPv4 only. Control path; any thread.
 */
public final class Sockets {
    private Sockets() {
    }

    /** A listening socket bound to {@code host:port} (port 0 = any), with SO_REUSEADDR. */
    public static int listen(String host, int port, int backlog) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            int fd = sys_socket_h.socket(cs, sys_socket_h.AF_INET, sys_socket_h.SOCK_STREAM | sys_socket_h.SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw Errno.failure("socket(AF_INET)", cs);
            }
            boolean ok = false;
            try {
                setInt(a, cs, fd, sys_socket_h.SOL_SOCKET, sys_socket_h.SO_REUSEADDR, 1, "SO_REUSEADDR");
                MemorySegment addr = sockaddr(a, host, port);
                if (sys_socket_h.bind(cs, fd, addr, sockaddr_in.SIZE) < 0) {
                    throw Errno.failure("bind(" + host + ":" + port + ")", cs);
                }
                if (sys_socket_h.listen(cs, fd, backlog) < 0) {
                    throw Errno.failure("listen(" + host + ":" + port + ")", cs);
                }
                ok = true;
                return fd;
            } finally {
                if (!ok) {
                    unistd_h.close(cs, fd);
                }
            }
        }
    }

    /** An unconnected TCP socket, to be connected through an {@link IoUring}. */
    public static int socket() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            int fd = sys_socket_h.socket(cs, sys_socket_h.AF_INET, sys_socket_h.SOCK_STREAM | sys_socket_h.SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw Errno.failure("socket(AF_INET)", cs);
            }
            return fd;
        }
    }

    /** A {@code struct sockaddr_in} for {@code host:port}, allocated in {@code arena}. */
    public static MemorySegment socketAddress(Arena arena, String host, int port) {
        return sockaddr(arena, host, port);
    }

    /** The address a socket is bound to (listeners) or {@code peer}'s address. */
    public static InetSocketAddress address(int fd, boolean peer) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            MemorySegment addr = a.allocate(sockaddr_in.layout());
            MemorySegment len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, sockaddr_in.SIZE);
            int r = peer ? sys_socket_h.getpeername(cs, fd, addr, len) : sys_socket_h.getsockname(cs, fd, addr, len);
            if (r < 0) {
                throw Errno.failure(peer ? "getpeername" : "getsockname", cs);
            }
            int port = Short.toUnsignedInt(addr.get(JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), sockaddr_in.sin_port_OFFSET));
            byte[] ip = addr.asSlice(sockaddr_in.sin_addr_OFFSET, 4).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            try {
                return new InetSocketAddress(InetAddress.getByAddress(ip), port);
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Disables Nagle and sizes the kernel buffers of an accepted connection. */
    public static void tune(int fd, int bufferBytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            setInt(a, cs, fd, sys_socket_h.IPPROTO_TCP, sys_socket_h.TCP_NODELAY, 1, "TCP_NODELAY");
            if (bufferBytes > 0) {
                setInt(a, cs, fd, sys_socket_h.SOL_SOCKET, sys_socket_h.SO_SNDBUF, bufferBytes, "SO_SNDBUF");
                setInt(a, cs, fd, sys_socket_h.SOL_SOCKET, sys_socket_h.SO_RCVBUF, bufferBytes, "SO_RCVBUF");
            }
        }
    }

    /** Shuts both directions down, so that pending receives complete; the fd stays open. */
    public static void shutdown(int fd) {
        try (Arena a = Arena.ofConfined()) {
            sys_socket_h.shutdown(Errno.newCallState(a), fd, sys_socket_h.SHUT_RDWR);
        }
    }

    public static void close(int fd) {
        try (Arena a = Arena.ofConfined()) {
            unistd_h.close(Errno.newCallState(a), fd);
        }
    }

    private static void setInt(Arena a, MemorySegment cs, int fd, int level, int option, int value, String name) {
        MemorySegment v = a.allocate(JAVA_INT);
        v.set(JAVA_INT, 0, value);
        if (sys_socket_h.setsockopt(cs, fd, level, option, v, Integer.BYTES) < 0) {
            throw Errno.failure("setsockopt(" + name + ")", cs);
        }
    }

    private static MemorySegment sockaddr(Arena a, String host, int port) {
        InetAddress ip;
        try {
            ip = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("unknown host '" + host + "'", e);
        }
        if (!(ip instanceof Inet4Address)) {
            throw new IllegalArgumentException("only IPv4 listeners are supported, got " + host);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range 0..65535");
        }
        MemorySegment addr = a.allocate(sockaddr_in.layout());
        addr.set(JAVA_SHORT, sockaddr_in.sin_family_OFFSET, (short) sys_socket_h.AF_INET);
        addr.set(JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), sockaddr_in.sin_port_OFFSET, (short) port);
        MemorySegment.copy(ip.getAddress(), 0, addr, java.lang.foreign.ValueLayout.JAVA_BYTE, sockaddr_in.sin_addr_OFFSET, 4);
        return addr;
    }
}
