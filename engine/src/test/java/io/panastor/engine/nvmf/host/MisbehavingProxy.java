package io.panastor.engine.nvmf.host;

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
import java.util.zip.CRC32C;

/**
 * A fake target made of a real one: a TCP proxy on 127.0.0.1 in front of Panastor's target
 * that parses the PDUs the target sends on IO queue connections and lets an armed
 * {@link Mutation} rewrite them — split, drop, duplicate, reorder, corrupt fields, break
 * digests, fabricate completions, trickle bytes — so that the initiator meets every way a
 * buggy or hostile target can misbehave while real data flows. The host's PDUs pass
 * untouched (only a fabrics Connect's QID is read, to tell IO queues from the admin queue).
 *
 * <p>Thread-safety: any thread; two threads per proxied connection.
 */
final class MisbehavingProxy implements AutoCloseable {
    static final int CAPSULE_CMD = 0x04;
    static final int CAPSULE_RESP = 0x05;
    static final int C2H_DATA = 0x07;
    static final int R2T = 0x09;
    static final int FLAG_HDGSTF = 0x01;
    static final int FLAG_DDGSTF = 0x02;
    static final int FLAG_LAST_PDU = 0x04;
    static final int FLAG_SUCCESS = 0x08;

    /** What the target sent on one IO connection, and how to build PDUs as it would. */
    static final class Wire {
        boolean hd;
        boolean dd;
        boolean trickle;

        int hdLen() {
            return hd ? 4 : 0;
        }

        int ddLen() {
            return dd ? 4 : 0;
        }

        /** A copy of {@code pdu} with its header digest recomputed (after a header field changed). */
        byte[] resealHeader(byte[] pdu) {
            if (hd && (pdu[1] & FLAG_HDGSTF) != 0) {
                int hlen = pdu[2] & 0xFF;
                le(pdu).putInt(hlen, crc(pdu, 0, hlen));
            }
            return pdu;
        }

        /** A C2HData PDU for {@code cid} carrying {@code data[from, from + len)} at DATAO {@code datao}. */
        byte[] c2hData(int cid, long datao, byte[] data, int from, int len, int flags) {
            int hlen = 24;
            int pdo = hlen + hdLen();
            int plen = pdo + len + ddLen();
            byte[] p = new byte[plen];
            ByteBuffer b = le(p);
            p[0] = C2H_DATA;
            p[1] = (byte) (flags | (hd ? FLAG_HDGSTF : 0) | (dd ? FLAG_DDGSTF : 0));
            p[2] = (byte) hlen;
            p[3] = (byte) pdo;
            b.putInt(4, plen);
            b.putShort(8, (short) cid);
            b.putInt(12, (int) datao);
            b.putInt(16, len);
            System.arraycopy(data, from, p, pdo, len);
            if (dd) {
                b.putInt(pdo + len, crc(p, pdo, len));
            }
            return resealHeader(p);
        }

        /** A CapsuleResp completing {@code cid} with {@code status} (no phase bit). */
        byte[] capsuleResp(int cid, int status) {
            int plen = 24 + hdLen();
            byte[] p = new byte[plen];
            ByteBuffer b = le(p);
            p[0] = CAPSULE_RESP;
            p[1] = (byte) (hd ? FLAG_HDGSTF : 0);
            p[2] = 24;
            b.putInt(4, plen);
            b.putShort(8 + 12, (short) cid);
            b.putShort(8 + 14, (short) (status << 1));
            return resealHeader(p);
        }
    }

    /** One misbehaviour: sees every PDU the target sends on IO connections while armed. */
    interface Mutation {
        /** The PDUs to send instead of {@code pdu} (empty: drop it). */
        List<byte[]> apply(byte[] pdu, Wire wire);

        /** Whether it has done what it does (then it is disarmed). */
        boolean done();
    }

    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile Mutation armed;
    private volatile Mutation armedAdmin;
    private volatile boolean closed;

    MisbehavingProxy(InetSocketAddress upstream) throws IOException {
        this.upstream = upstream;
        this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon(true).name("misbehaving-proxy accept").start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    void arm(Mutation m) {
        armed = m;
    }

    void disarm() {
        armed = null;
    }

    /** Arms a mutation of what the target sends on admin connections (Identify data, say). */
    void armAdmin(Mutation m) {
        armedAdmin = m;
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
                boolean[] ioQueue = new boolean[1];
                Thread.ofPlatform().daemon(true).name("misbehaving-proxy h2c").start(() -> {
                    try {
                        hostToTarget(host.getInputStream(), target.getOutputStream(), ioQueue);
                    } catch (IOException e) {
                        // over
                    } finally {
                        closeQuietly(host);
                        closeQuietly(target);
                    }
                });
                Thread.ofPlatform().daemon(true).name("misbehaving-proxy c2h").start(() -> {
                    try {
                        targetToHost(target.getInputStream(), host.getOutputStream(), ioQueue);
                    } catch (IOException e) {
                        // over
                    } finally {
                        closeQuietly(host);
                        closeQuietly(target);
                    }
                });
            } catch (IOException e) {
                if (!closed) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    private static byte[] readPdu(InputStream in) throws IOException {
        byte[] h = in.readNBytes(8);
        if (h.length < 8) {
            return null;
        }
        int plen = le(h).getInt(4);
        if (plen < 8 || plen > (8 << 20)) {
            throw new IOException("proxy: bad PDU length " + plen);
        }
        byte[] p = new byte[plen];
        System.arraycopy(h, 0, p, 0, 8);
        int n = in.readNBytes(p, 8, plen - 8);
        return n < plen - 8 ? null : p;
    }

    private void hostToTarget(InputStream in, OutputStream out, boolean[] ioQueue) throws IOException {
        byte[] p;
        while ((p = readPdu(in)) != null) {
            // A fabrics Connect (opcode 0x7F, FCTYPE 1) names its QID in SQE bytes 42-43.
            if (p[0] == CAPSULE_CMD && p.length >= 72 && (p[8] & 0xFF) == 0x7F && p[12] == 0x01) {
                ioQueue[0] = le(p).getShort(8 + 42) != 0;
            }
            out.write(p);
            out.flush();
        }
    }

    private void targetToHost(InputStream in, OutputStream out, boolean[] ioQueue) throws IOException {
        Wire wire = new Wire();
        byte[] p = readPdu(in);
        if (p == null) {
            return;
        }
        wire.hd = (p[11] & 1) != 0;     // the ICResp's DGST
        wire.dd = (p[11] & 2) != 0;
        out.write(p);
        out.flush();
        while ((p = readPdu(in)) != null) {
            Mutation m = ioQueue[0] ? armed : armedAdmin;
            List<byte[]> send = List.of(p);
            wire.trickle = false;
            if (m != null) {
                send = m.apply(p, wire);
                if (m.done()) {
                    if (ioQueue[0]) {
                        armed = null;
                    } else {
                        armedAdmin = null;
                    }
                }
            }
            for (byte[] s : send) {
                if (wire.trickle) {
                    // 1 to 7 bytes per segment (TCP_NODELAY): the host must reassemble them.
                    for (int i = 0; i < s.length; i += 1 + (i % 7)) {
                        out.write(s, i, Math.min(s.length - i, 1 + (i % 7)));
                        out.flush();
                    }
                } else {
                    out.write(s);
                }
            }
            out.flush();
        }
    }

    static ByteBuffer le(byte[] a) {
        return ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
    }

    static int crc(byte[] a, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(a, off, len);
        return (int) c.getValue();
    }

    static List<byte[]> list(byte[]... pdus) {
        return new ArrayList<>(List.of(pdus));
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
        sockets.forEach(MisbehavingProxy::closeQuietly);
    }
}
