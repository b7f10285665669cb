package io.panastor.engine.nvmf.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.natives.IoUring;
import io.panastor.natives.Sockets;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** SendBuffers over a real TCP connection on 127.0.0.1, with a receiver slow enough to force short sends. */
class SendBuffersTest {
    private static final long SEND = 1;

    @Test
    void gatheredPayloadsArriveWholeAndInOrderAcrossShortSends() throws Exception {
        try (Arena arena = Arena.ofShared(); ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             IoUring ring = new IoUring(16)) {
            int fd = Sockets.socket();
            try {
                Sockets.tune(fd, 16 * 1024);
                MemorySegment to = Sockets.socketAddress(arena, "127.0.0.1", server.getLocalPort());
                assertThat(ring.prepConnect(fd, to.address(), (int) to.byteSize(), 0)).isTrue();
                assertThat(next(ring)).isZero();
                Socket peer = server.accept();

                // Two sides' worth of PDUs: small pieces written into the buffer, large ones gathered from elsewhere.
                Random random = new Random(42);
                ByteArrayOutputStream expected = new ByteArrayOutputStream();
                SendBuffers out = new SendBuffers(arena, 64 * 1024);
                int[] pieces = {24, -300_000, 24, 4, -4096, 16, 1000, -1024, 24};
                for (int n : pieces) {
                    byte[] bytes = new byte[Math.abs(n)];
                    random.nextBytes(bytes);
                    expected.write(bytes);
                    if (n > 0) {
                        int at = out.reserve(n);
                        MemorySegment.copy(bytes, 0, out.filling(), ValueLayout.JAVA_BYTE, at, n);
                    } else {
                        MemorySegment external = arena.allocate(bytes.length, 4096);
                        MemorySegment.copy(bytes, 0, external, ValueLayout.JAVA_BYTE, 0, bytes.length);
                        assertThat(out.canAppendExternal()).isTrue();
                        out.appendExternal(external.address(), bytes.length);
                    }
                }
                int total = expected.size();
                // The receiver starts late and reads in small pieces: the kernel takes the send in parts.
                CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                    try (InputStream in = peer.getInputStream()) {
                        TimeUnit.MILLISECONDS.sleep(100);
                        ByteArrayOutputStream got = new ByteArrayOutputStream();
                        byte[] chunk = new byte[8192];
                        while (got.size() < total) {
                            int r = in.read(chunk);
                            if (r < 0) {
                                break;
                            }
                            got.write(chunk, 0, r);
                        }
                        return got.toByteArray();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                assertThat(out.flush(ring, fd, SEND)).isTrue();
                assertThat(out.hasQueued()).as("the other side fills next").isFalse();
                int resubmits = 0;
                while (true) {
                    int res = next(ring);
                    assertThat(res).as("send result").isPositive();
                    int state = out.onSent(res, ring, fd, SEND);
                    if (state == SendBuffers.SENT) {
                        break;
                    }
                    assertThat(state).isEqualTo(SendBuffers.RESUBMITTED);
                    resubmits++;
                }
                assertThat(resubmits).as("short sends resubmitted").isPositive();
                assertThat(out.inFlight()).isFalse();
                assertThat(received.get(10, TimeUnit.SECONDS)).isEqualTo(expected.toByteArray());
                peer.close();
            } finally {
                Sockets.close(fd);
            }
        }
    }

    /** Submits what is queued and waits for the next completion's result. */
    private static int next(IoUring ring) {
        int[] result = new int[1];
        boolean[] got = new boolean[1];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!got[0]) {
            ring.submitAndReap((ud, res, flags) -> {
                result[0] = res;
                got[0] = true;
            }, 1);
            if (!got[0]) {
                ring.submitAndWaitTimeout(1_000_000L);
            }
            assertThat(System.nanoTime()).as("a completion in time").isLessThan(deadline);
        }
        return result[0];
    }
}
