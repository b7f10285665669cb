package io.panastor.engine.nvmf;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a connection costs and how long it may take to say who it is: idle queues hold little
 * native memory, data buffers are shared per reactor, sockets that never finish the handshake
 * are closed, and too many of them at once are refused at accept.
 */
class TargetResourcesTest {
    static final String NQN = "nqn.2026-11.io.panastor:resources";
    static final int BS = 4096;
    /** The goal for an idle IO queue connection (issue 9, item 5). */
    static final long IDLE_QUEUE_BUDGET = 256 * 1024;

    Reactors reactors;
    Bdevs bdevs;
    NvmfTarget target;
    InetSocketAddress address;
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void start() {
        reactors = Reactors.start(2);
        bdevs = new Bdevs();
        bdevs.create("malloc:///r0?size_mb=16&blk_size=4096");
        target = new NvmfTarget(reactors, bdevs);
        target.createSubsystem(NQN, "SN-RES", "Panastor resources", true, List.of());
        target.addNamespace(NQN, "r0", 1);
        address = target.addListener("127.0.0.1", 0);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        target.close();
        bdevs.destroyAll().join();
        reactors.close();
    }

    private static byte[] pattern(long lba, int blocks, long generation) {
        MemorySegment m = MemorySegment.ofArray(new byte[blocks * BS]);
        new BlockPattern().fill(m, 0, BS, lba, blocks, generation);
        return m.toArray(ValueLayout.JAVA_BYTE);
    }

    /** True when the target closes {@code s} (EOF or reset) before the 10 s hang detector. */
    private static boolean closedByTarget(Socket s) throws IOException {
        s.setSoTimeout(10_000);
        InputStream in = s.getInputStream();
        try {
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (SocketException e) {
            return true;
        }
    }

    @Test
    void idleIoQueuesHoldLittleNativeMemoryAndShareTheirReactorsDataBuffers() throws Exception {
        TestHost admin = new TestHost(address);
        open.add(admin);
        int cntlid = admin.openAdmin(NQN, 0);
        int queues = 16;
        List<TestHost> io = new ArrayList<>();
        for (int q = 1; q <= queues; q++) {
            TestHost h = new TestHost(address);
            open.add(h);
            h.icReq(false, false);
            assertThat(h.connect(q, 127, cntlid, NQN, TestHost.HOST_NQN, 0).ok()).isTrue();
            io.add(h);
        }
        // Every queue writes and reads back its own blocks: 4 KiB in-capsule and 128 KiB through R2T.
        for (int q = 0; q < queues; q++) {
            TestHost h = io.get(q);
            byte[] small = pattern(q, 1, 7);
            byte[] large = pattern(100 + 32L * q, 32, 7);
            assertThat(h.write(1, q, small, BS, true).ok()).isTrue();
            assertThat(h.write(1, 100 + 32L * q, large, BS, false).ok()).isTrue();
            assertThat(h.read(1, q, 1, BS).data()).isEqualTo(small);
            assertThat(h.read(1, 100 + 32L * q, 32, BS).data()).isEqualTo(large);
        }
        long perConnection = target.counters().connectionBytes() / (queues + 1);
        System.out.printf("native memory: %d B per connection (%d connections), %d B in the reactors' data pools%n",
                perConnection, queues + 1, target.counters().poolBytes());
        assertThat(perConnection).as("native bytes per connection").isLessThanOrEqualTo(IDLE_QUEUE_BUDGET);
        // Buffers are lent per command: 17 connections did not make 17 pools. One slab of each
        // class per reactor was enough for one command at a time per connection.
        assertThat(target.counters().poolBytes()).as("pool bytes")
                .isLessThanOrEqualTo(2L * (64 * 8192 + 8 * 128 * 1024));
        for (TestHost h : io) {
            h.close();
        }
        admin.close();
        Await.until("every connection to be gone", Duration.ofSeconds(10), () -> target.connections().isEmpty());
        assertThat(target.counters().connectionBytes()).as("connection bytes after they closed").isZero();
    }

    /**
     * With one data buffer of each size per reactor, a host pipelines R2T writes, in-capsule
     * writes and large reads on one queue: requests wait for buffers instead of failing, and
     * the stream never deadlocks behind the H2CData that would free them.
     */
    @Test
    void requestsWaitForBuffersWhenThePoolIsDryAndAllComplete() throws Exception {
        target.setDataBufferLimits(1, 1);
        TestHost admin = new TestHost(address);
        open.add(admin);
        int cntlid = admin.openAdmin(NQN, 0);
        TestHost h = new TestHost(address);
        open.add(h);
        h.icReq(false, false);
        assertThat(h.connect(1, 127, cntlid, NQN, TestHost.HOST_NQN, 0).ok()).isTrue();
        int large = 32;   // blocks: 128 KiB, the large class
        java.util.Map<Integer, byte[]> writes = new java.util.HashMap<>();
        java.util.Map<Integer, Long> lbas = new java.util.HashMap<>();
        java.io.ByteArrayOutputStream burst = new java.io.ByteArrayOutputStream();
        int cid = 100;
        for (int i = 0; i < 4; i++, cid++) {
            long lba = 200 + (long) large * i;
            byte[] data = pattern(lba, large, 9);
            java.nio.ByteBuffer s = TestHost.sqe(NvmeOpcodes.NVM_WRITE, 1);
            s.putShort(2, (short) cid).putLong(40, lba).putInt(48, large - 1);
            s.putLong(24, 0).putInt(32, data.length).put(39, (byte) 0x5A);
            burst.write(h.capsule(s, null));
            writes.put(cid, data);
            lbas.put(cid, lba);
        }
        for (int i = 0; i < 4; i++, cid++) {
            long lba = 20 + 2L * i;
            byte[] data = pattern(lba, 2, 9);
            java.nio.ByteBuffer s = TestHost.sqe(NvmeOpcodes.NVM_WRITE, 1);
            s.putShort(2, (short) cid).putLong(40, lba).putInt(48, 1);
            s.putLong(24, 0).putInt(32, data.length).put(39, (byte) 0x01);
            burst.write(h.capsule(s, data));
        }
        h.send(burst.toByteArray());
        int done = 0;
        while (done < 8) {
            java.nio.ByteBuffer p = h.readPdu();
            int type = p.get(0);
            if (type == io.panastor.engine.nvmf.proto.TcpPdu.R2T) {
                int c = p.getShort(8) & 0xFFFF;
                int ttag = p.getShort(10) & 0xFFFF;
                int r2to = p.getInt(12);
                int r2tl = p.getInt(16);
                byte[] data = writes.get(c);
                for (int off = r2to; off < r2to + r2tl; off += h.maxH2CData) {
                    int n = Math.min(h.maxH2CData, r2to + r2tl - off);
                    h.send(h.h2cData(c, ttag, off, data, off, n, off + n == r2to + r2tl));
                }
            } else {
                assertThat(type).as("PDU type").isEqualTo(io.panastor.engine.nvmf.proto.TcpPdu.CAPSULE_RESP);
                assertThat((p.getShort(8 + 14) & 0xFFFF) >>> 1).as("status of cid %d", p.getShort(8 + 12)).isZero();
                done++;
            }
        }
        for (var e : writes.entrySet()) {
            assertThat(h.read(1, lbas.get(e.getKey()), large, BS).data()).isEqualTo(e.getValue());
        }
        for (int i = 0; i < 4; i++) {
            assertThat(h.read(1, 20 + 2L * i, 2, BS).data()).isEqualTo(pattern(20 + 2L * i, 2, 9));
        }
        assertThat(target.counters().poolBytes()).as("one buffer of each class per reactor at most")
                .isLessThanOrEqualTo(2L * (8192 + 128 * 1024));
        assertThat(target.counters().handlerFailures()).isZero();
    }

    @Test
    void socketsThatDoNotFinishTheHandshakeAreClosedAfterTheTimeout() throws Exception {
        TestHost admin = new TestHost(address);
        open.add(admin);
        admin.openAdmin(NQN, 0);
        // Connections accepted from now on get 200 ms; the one above is connected and keeps serving.
        target.setHandshakeTimeout(Duration.ofMillis(200));
        Socket silent = new Socket(address.getAddress(), address.getPort());
        open.add(silent);
        TestHost icOnly = new TestHost(address);
        open.add(icOnly);
        icOnly.icReq(false, false);
        assertThat(closedByTarget(silent)).as("a socket that sends nothing").isTrue();
        assertThat(icOnly.closedByTarget()).as("a socket that sends ICReq and no Connect").isTrue();
        assertThat(target.counters().handshakeTimeouts()).isEqualTo(2);
        assertThat(admin.admin(NvmeOpcodes.ADMIN_KEEP_ALIVE, 0, 0, 0, 0).ok()).isTrue();
        Await.until("only the admin queue to remain", Duration.ofSeconds(10),
                () -> target.connections().size() == 1);
    }

    @Test
    void connectionsBeyondTheCapOnUnconnectedOnesAreClosedAtAccept() throws Exception {
        target.setMaxUnconnected(4);
        // No handshake timeout here: on a slow machine it could close the four before the fifth comes.
        target.setHandshakeTimeout(Duration.ZERO);
        List<Socket> waiting = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Socket s = new Socket(address.getAddress(), address.getPort());
            open.add(s);
            waiting.add(s);
        }
        Await.until("four connections to be accepted", Duration.ofSeconds(10), () -> target.connections().size() == 4);
        Socket fifth = new Socket(address.getAddress(), address.getPort());
        open.add(fifth);
        assertThat(closedByTarget(fifth)).as("the fifth connection not yet connected").isTrue();
        assertThat(target.counters().refusedUnconnected()).isEqualTo(1);
        for (Socket s : waiting) {
            s.close();
        }
        Await.until("the four to be gone", Duration.ofSeconds(10), () -> target.connections().isEmpty());
        // Room again: a host connects and works.
        TestHost admin = new TestHost(address);
        open.add(admin);
        admin.openAdmin(NQN, 0);
        assertThat(admin.admin(NvmeOpcodes.ADMIN_KEEP_ALIVE, 0, 0, 0, 0).ok()).isTrue();
    }
}
