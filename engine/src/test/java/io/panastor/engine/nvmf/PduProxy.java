package io.panastor.engine.nvmf;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A TCP proxy between an NVMe/TCP host and target on 127.0.0.1 that reads the host's PDUs,
 * records every command capsule (which connection, opcode, fabrics type, the first command
 * dwords), and can swallow chosen capsules whole — a command that the network lost, so that
 * the host's timeout, abort and reset handling can be watched. The target's bytes pass
 * through untouched. No digests are parsed (use it without them).
 *
 * <p>Thread-safety: any thread; one thread per direction per connection.
 */
final class PduProxy implements AutoCloseable {
    /** One command capsule the host sent, in order of arrival. */
    record Capsule(int connection, int opcode, int fctype, int cid, int cdw10, int cdw11, long cdw12, boolean dropped) {
        static final int FABRICS = 0x7F;

        boolean fabrics(int type) {
            return opcode == FABRICS && fctype == type;
        }

        /** Connect's QID (fabrics Connect, SQE bytes 42-43). */
        int connectQid() {
            return cdw10 >>> 16;
        }
    }

    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final List<Capsule> capsules = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final java.util.Map<Integer, Runnable> enders = new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger open = new AtomicInteger();
    private volatile Predicate<Capsule> drop = c -> false;
    private volatile boolean closed;

    PduProxy(InetSocketAddress upstream) throws IOException {
        this.upstream = upstream;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon(true).name("pdu-proxy accept").start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    /** From now on, capsules matching {@code p} are swallowed (and recorded as dropped). */
    void drop(Predicate<Capsule> p) {
        drop = p;
    }

    List<Capsule> capsules() {
        return new ArrayList<>(capsules);
    }

    /** Cuts connection {@code id} (numbered from 1 in order of arrival) on both sides, as a network fault would. */
    void cut(int id) {
        Runnable end = enders.get(id);
        if (end != null) {
            end.run();
        }
    }

    /** Host connections open through the proxy now. */
    int openConnections() {
        return open.get();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket host = server.accept();
                Socket target = new Socket(upstream.getAddress(), upstream.getPort());
                host.setTcpNoDelay(true);
                target.setTcpNoDelay(true);
                sockets.add(host);
                sockets.add(target);
                int id = connections.incrementAndGet();
                open.incrementAndGet();
                AtomicInteger ends = new AtomicInteger();
                Runnable end = () -> {
                    if (ends.incrementAndGet() == 1) {
                        open.decrementAndGet();
                    }
                    closeQuietly(host);
                    closeQuietly(target);
                };
                enders.put(id, end);
                Thread.ofPlatform().daemon(true).name("pdu-proxy h2c " + id).start(() -> {
                    try {
                        hostToTarget(id, host.getInputStream(), target.getOutputStream());
                    } catch (IOException e) {
                        // connection over
                    } finally {
                        end.run();
                    }
                });
                Thread.ofPlatform().daemon(true).name("pdu-proxy c2h " + id).start(() -> {
                    try {
                        target.getInputStream().transferTo(host.getOutputStream());
                    } catch (IOException e) {
                        // connection over
                    } finally {
                        end.run();
                    }
                });
            } catch (IOException e) {
                if (!closed) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    private void hostToTarget(int connection, InputStream in, OutputStream out) throws IOException {
        while (true) {
            byte[] header = in.readNBytes(8);
            if (header.length < 8) {
                return;
            }
            int plen = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt(4);
            if (plen < 8 || plen > (4 << 20)) {
                throw new IOException("proxy: bad PDU length " + plen);
            }
            byte[] rest = in.readNBytes(plen - 8);
            if (rest.length < plen - 8) {
                return;
            }
            byte[] pdu = new byte[plen];
            System.arraycopy(header, 0, pdu, 0, 8);
            System.arraycopy(rest, 0, pdu, 8, rest.length);
            boolean forward = true;
            if (pdu[0] == 0x04 && plen >= 72) {       // CapsuleCmd: the SQE follows the 8-byte header
                ByteBuffer b = ByteBuffer.wrap(pdu).order(ByteOrder.LITTLE_ENDIAN);
                Capsule c = new Capsule(connection, b.get(8) & 0xFF, b.get(12) & 0xFF, b.getShort(10) & 0xFFFF,
                        b.getInt(48), b.getInt(52), b.getLong(56), false);
                if (drop.test(c)) {
                    c = new Capsule(c.connection(), c.opcode(), c.fctype(), c.cid(), c.cdw10(), c.cdw11(), c.cdw12(), true);
                    forward = false;
                }
                capsules.add(c);
            }
            if (forward) {
                out.write(pdu);
                out.flush();
            }
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        sockets.forEach(PduProxy::closeQuietly);
    }
}
