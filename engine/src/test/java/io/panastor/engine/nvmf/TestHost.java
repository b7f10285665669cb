package io.panastor.engine.nvmf;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * A minimal NVMe/TCP host written for the tests from the transport specification: blocking
 * sockets, one command at a time, and ways to send malformed PDUs. Not the product's
 * initiator (that comes later); its independence is the point.
 */
public final class TestHost implements AutoCloseable {
    public static final String HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-00000000beef";

    /** A command's outcome. */
    public record Completion(int status, int dw0, int dw1, int cid, byte[] data) {
        public int sct() {
            return (status >>> 8) & 0x7;
        }

        public int sc() {
            return status & 0xFF;
        }

        public boolean ok() {
            return status == 0;
        }
    }

    private final SocketChannel channel;
    public boolean headerDigest;
    public boolean dataDigest;
    public int maxH2CData;
    private int nextCid = 1;
    int qid;

    public TestHost(InetSocketAddress target) throws IOException {
        channel = SocketChannel.open(target);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel.socket().setSoTimeout(10_000);
    }

    /** A host whose socket receive buffer is {@code receiveBufferBytes} (set before connecting: a host that reads little). */
    public TestHost(InetSocketAddress target, int receiveBufferBytes) throws IOException {
        channel = SocketChannel.open();
        channel.setOption(StandardSocketOptions.SO_RCVBUF, receiveBufferBytes);
        channel.connect(target);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel.socket().setSoTimeout(10_000);
    }

    /** Reads and discards until the target closes the connection; false if it is still open at the socket timeout. */
    public boolean drainUntilClosed() throws IOException {
        byte[] sink = new byte[64 * 1024];
        try {
            java.io.InputStream in = channel.socket().getInputStream();
            while (in.read(sink) >= 0) {
                // discard
            }
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (java.net.SocketException e) {
            return true;
        }
    }

    public static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Sets how long a read waits for the target (a hang detector, not a performance bound). */
    public void readTimeout(int millis) throws IOException {
        channel.socket().setSoTimeout(millis);
    }

    public void icReq(boolean hdgst, boolean ddgst) throws IOException {
        ByteBuffer b = le(IC_LENGTH);
        b.put(0, (byte) ICREQ).put(2, (byte) IC_LENGTH).putInt(4, IC_LENGTH);
        b.putShort(8, (short) 0).put(10, (byte) 0).put(11, (byte) ((hdgst ? 1 : 0) | (ddgst ? 2 : 0)));
        send(b.array());
        ByteBuffer r = readPdu();
        if (r.get(0) != ICRESP) {
            throw new IOException("expected ICResp, got PDU type " + r.get(0));
        }
        headerDigest = (r.get(11) & 1) != 0;
        dataDigest = (r.get(11) & 2) != 0;
        maxH2CData = r.getInt(12);
    }

    public void send(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private void readFully(ByteBuffer b) throws IOException {
        var in = channel.socket().getInputStream();
        byte[] a = b.array();
        int off = b.position();
        while (off < b.limit()) {
            int n = in.read(a, off, b.limit() - off);
            if (n < 0) {
                throw new EOFException("connection closed by the target");
            }
            off += n;
        }
        b.position(off);
    }

    /** Reads one whole PDU (checking its header digest when negotiated). */
    public ByteBuffer readPdu() throws IOException {
        ByteBuffer h = le(8);
        readFully(h);
        int plen = h.getInt(4);
        ByteBuffer p = le(plen);
        p.put(h.array());
        readFully(p);
        int type = p.get(0);
        int hlen = p.get(2) & 0xFF;
        if ((p.get(1) & FLAG_HDGSTF) != 0 && crc(p.array(), 0, hlen) != p.getInt(hlen)) {
            throw new IOException("bad header digest from the target on PDU type " + type);
        }
        return p;
    }

    /** True when the target closed the connection (EOF) within the socket timeout. */
    public boolean closedByTarget() throws IOException {
        try {
            int n = channel.socket().getInputStream().read();
            return n < 0;
        } catch (java.net.SocketException e) {
            return true;
        }
    }

    public static int crc(byte[] a, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(a, off, len);
        return (int) c.getValue();
    }

    // ---------------------------------------------------------------- commands

    public static ByteBuffer sqe(int opcode, long nsid) {
        ByteBuffer s = le(64);
        s.put(0, (byte) opcode).put(1, (byte) 0x40).putInt(4, (int) nsid);
        return s;
    }

    /** Builds a CapsuleCmd PDU for {@code sqe} with optional in-capsule data. */
    public byte[] capsule(ByteBuffer sqe, byte[] inCapsule) {
        int hd = headerDigest ? 4 : 0;
        int dataLen = inCapsule == null ? 0 : inCapsule.length;
        int dd = dataLen > 0 && dataDigest ? 4 : 0;
        int pdo = dataLen > 0 ? CAPSULE_CMD_HLEN + hd : 0;
        int plen = CAPSULE_CMD_HLEN + hd + dataLen + dd;
        ByteBuffer p = le(plen);
        int flags = (headerDigest ? FLAG_HDGSTF : 0) | (dd > 0 ? FLAG_DDGSTF : 0);
        p.put(0, (byte) CAPSULE_CMD).put(1, (byte) flags).put(2, (byte) CAPSULE_CMD_HLEN).put(3, (byte) pdo)
                .putInt(4, plen);
        p.put(8, sqe.array(), 0, 64);
        if (hd > 0) {
            p.putInt(CAPSULE_CMD_HLEN, crc(p.array(), 0, CAPSULE_CMD_HLEN));
        }
        if (dataLen > 0) {
            p.put(CAPSULE_CMD_HLEN + hd, inCapsule);
            if (dd > 0) {
                p.putInt(CAPSULE_CMD_HLEN + hd + dataLen, crc(inCapsule, 0, dataLen));
            }
        }
        return p.array();
    }

    /**
     * Sends a command and runs its data transfer: {@code out} goes in the capsule when
     * {@code inCapsule}, else through R2T/H2CData; C2H data is collected.
     */
    public Completion command(ByteBuffer sqe, byte[] out, boolean inCapsule, int c2hLength) throws IOException {
        int cid = nextCid++ & 0xFFFF;
        sqe.putShort(2, (short) cid);
        int length = out != null ? out.length : c2hLength;
        if (length > 0) {
            sqe.putLong(24, 0).putInt(32, length).put(39, (byte) (inCapsule ? 0x01 : 0x5A));
        }
        send(capsule(sqe, out != null && inCapsule ? out : null));
        byte[] in = c2hLength > 0 ? new byte[c2hLength] : null;
        while (true) {
            ByteBuffer p = readPdu();
            int type = p.get(0);
            int hlen = p.get(2) & 0xFF;
            int hd = (p.get(1) & FLAG_HDGSTF) != 0 ? 4 : 0;
            switch (type) {
                case CAPSULE_RESP -> {
                    int status = (p.getShort(8 + 14) & 0xFFFF) >>> 1;
                    return new Completion(status, p.getInt(8), p.getInt(12), p.getShort(8 + 12) & 0xFFFF, in);
                }
                case C2H_DATA -> {
                    int datao = p.getInt(12);
                    int datal = p.getInt(16);
                    int pdo = p.get(3) & 0xFF;
                    if ((p.get(1) & FLAG_DDGSTF) != 0
                            && crc(p.array(), pdo, datal) != p.getInt(pdo + datal)) {
                        throw new IOException("bad data digest from the target");
                    }
                    System.arraycopy(p.array(), pdo, in, datao, datal);
                    if ((p.get(1) & FLAG_SUCCESS) != 0) {
                        return new Completion(0, 0, 0, cid, in);
                    }
                }
                case R2T -> {
                    int ttag = p.getShort(10) & 0xFFFF;
                    int r2to = p.getInt(12);
                    int r2tl = p.getInt(16);
                    for (int off = r2to; off < r2to + r2tl; off += maxH2CData) {
                        int n = Math.min(maxH2CData, r2to + r2tl - off);
                        send(h2cData(cid, ttag, off, out, off, n, off + n == r2to + r2tl));
                    }
                }
                case C2H_TERM_REQ -> throw new IOException("target terminated: FES " + p.getShort(8));
                default -> throw new IOException("unexpected PDU type " + type + " (hlen " + hlen + ", hd " + hd + ")");
            }
        }
    }

    public byte[] h2cData(int cid, int ttag, int datao, byte[] src, int srcOff, int n, boolean last) {
        int hd = headerDigest ? 4 : 0;
        int dd = dataDigest ? 4 : 0;
        int plen = DATA_HLEN + hd + n + dd;
        ByteBuffer p = le(plen);
        int flags = (last ? FLAG_LAST_PDU : 0) | (headerDigest ? FLAG_HDGSTF : 0) | (dataDigest ? FLAG_DDGSTF : 0);
        p.put(0, (byte) H2C_DATA).put(1, (byte) flags).put(2, (byte) DATA_HLEN).put(3, (byte) (DATA_HLEN + hd))
                .putInt(4, plen);
        p.putShort(8, (short) cid).putShort(10, (short) ttag).putInt(12, datao).putInt(16, n);
        if (hd > 0) {
            p.putInt(DATA_HLEN, crc(p.array(), 0, DATA_HLEN));
        }
        p.put(DATA_HLEN + hd, src, srcOff, n);
        if (dd > 0) {
            p.putInt(DATA_HLEN + hd + n, crc(src, srcOff, n));
        }
        return p.array();
    }

    public Completion connect(int queueId, int sqsize, int cntlid, String subnqn, String hostnqn, int katoMillis)
            throws IOException {
        ByteBuffer s = sqe(NvmeOpcodes.FABRICS, 0);
        s.put(4, (byte) NvmeOpcodes.FCTYPE_CONNECT);
        s.putShort(40, (short) 0).putShort(42, (short) queueId).putShort(44, (short) sqsize).putInt(48, katoMillis);
        byte[] data = new byte[1024];
        ByteBuffer d = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        d.putLong(0, 0x1234).putShort(16, (short) cntlid);
        byte[] sub = subnqn.getBytes(StandardCharsets.US_ASCII);
        byte[] host = hostnqn.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(sub, 0, data, 256, sub.length);
        System.arraycopy(host, 0, data, 512, host.length);
        Completion c = command(s, data, true, 0);
        if (c.ok()) {
            qid = queueId;
        }
        return c;
    }

    public Completion propertyGet(int offset, boolean eightBytes) throws IOException {
        ByteBuffer s = sqe(NvmeOpcodes.FABRICS, 0);
        s.put(4, (byte) NvmeOpcodes.FCTYPE_PROPERTY_GET).put(40, (byte) (eightBytes ? 1 : 0)).putInt(44, offset);
        return command(s, null, false, 0);
    }

    public Completion propertySet(int offset, int value) throws IOException {
        ByteBuffer s = sqe(NvmeOpcodes.FABRICS, 0);
        s.put(4, (byte) NvmeOpcodes.FCTYPE_PROPERTY_SET).put(40, (byte) 0).putInt(44, offset).putLong(48, value);
        return command(s, null, false, 0);
    }

    /** Connects an admin queue and enables the controller; returns the CNTLID. */
    public int openAdmin(String subnqn, int katoMillis) throws IOException {
        icReq(headerDigest, dataDigest);
        Completion c = connect(0, 31, 0xFFFF, subnqn, HOST_NQN, katoMillis);
        if (!c.ok()) {
            throw new IOException("admin connect failed: status 0x" + Integer.toHexString(c.status()));
        }
        propertySet(NvmeOpcodes.PROP_CC, 1 | (6 << 16) | (4 << 20));
        if ((propertyGet(NvmeOpcodes.PROP_CSTS, false).dw0() & 1) != 1) {
            throw new IOException("controller not ready");
        }
        return c.dw0() & 0xFFFF;
    }

    public Completion admin(int opcode, long nsid, int cdw10, int cdw11, int c2h) throws IOException {
        ByteBuffer s = sqe(opcode, nsid);
        s.putInt(40, cdw10).putInt(44, cdw11);
        return command(s, null, false, c2h);
    }

    public Completion read(long nsid, long slba, int blocks, int blockSize) throws IOException {
        ByteBuffer s = sqe(NvmeOpcodes.NVM_READ, nsid);
        s.putLong(40, slba).putInt(48, blocks - 1);
        return command(s, null, false, blocks * blockSize);
    }

    /** {@link #read} on another thread: for a read that is expected to wait (for a buffer, a deadline). */
    public java.util.concurrent.CompletableFuture<Completion> readAsync(long nsid, long slba, int blocks, int blockSize) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return read(nsid, slba, blocks, blockSize);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    public Completion write(long nsid, long slba, byte[] data, int blockSize, boolean inCapsule) throws IOException {
        ByteBuffer s = sqe(NvmeOpcodes.NVM_WRITE, nsid);
        s.putLong(40, slba).putInt(48, data.length / blockSize - 1);
        return command(s, data, inCapsule, 0);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
