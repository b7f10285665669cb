package io.panastor.natives;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.bindings.errno_h;
import io.panastor.bindings.fcntl_h;
import io.panastor.bindings.iovec;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IoUringTest {
    @TempDir
    Path dir;

    /** Collects completions in arrival order. */
    static final class Collector implements CompletionHandler {
        final List<Long> userData = new ArrayList<>();
        final List<Integer> results = new ArrayList<>();

        @Override
        public void onCompletion(long ud, int res, int flags) {
            userData.add(ud);
            results.add(res);
        }
    }

    static void reapAll(IoUring ring, Collector c, int expected) {
        // A bound on a hang, not a window: generous enough for a machine whose cores are all busy.
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (c.userData.size() < expected) {
            if (ring.reap(c, 1024) == 0) {
                ring.submitAndWaitTimeout(1_000_000L);
            }
            assertThat(System.nanoTime()).as("completions arrived in time").isLessThan(deadline);
        }
    }

    static long crc(MemorySegment s) {
        CRC32C c = new CRC32C();
        c.update(s.asByteBuffer());
        return c.getValue();
    }

    static void fillRandom(MemorySegment s, long seed) {
        Random r = new Random(seed);
        for (long i = 0; i < s.byteSize(); i += 8) {
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
        }
    }

    @Test
    void nopsComeBackWithTheirUserData() {
        try (IoUring ring = new IoUring(16)) {
            for (long i = 0; i < 10; i++) {
                assertThat(ring.prepNop(1000 + i)).isTrue();
            }
            assertThat(ring.submit()).isEqualTo(10);
            Collector c = new Collector();
            reapAll(ring, c, 10);
            assertThat(c.userData).containsExactly(1000L, 1001L, 1002L, 1003L, 1004L, 1005L, 1006L, 1007L, 1008L, 1009L);
            assertThat(c.results).containsOnly(0);
        }
    }

    @Test
    void fullSubmissionQueueIsFlushedInsteadOfRefused() {
        try (IoUring ring = new IoUring(8)) {
            assertThat(ring.sqEntries()).isEqualTo(8);
            long enterBefore = ring.enterCalls();
            for (long i = 0; i < 40; i++) {
                assertThat(ring.prepNop(i)).as("sqe %d", i).isTrue();
            }
            ring.submit();
            // 40 SQEs through an 8-entry SQ: the ring entered the kernel once per full SQ,
            // not once per SQE.
            assertThat(ring.enterCalls() - enterBefore).isBetween(5L, 6L);
            Collector c = new Collector();
            reapAll(ring, c, 40);
            assertThat(c.userData).hasSize(40).doesNotHaveDuplicates();
            assertThat(c.userData).isSorted();
        }
    }

    @Test
    void moreCompletionsThanCqEntriesAreAllDelivered() {
        try (IoUring ring = new IoUring(4, 8, 0)) {
            assertThat(ring.cqEntries()).isEqualTo(8);
            int total = 100;
            for (long i = 0; i < total; i++) {
                ring.prepNop(i);
            }
            ring.submit();
            // More completions than the CQ holds are now pending; the kernel keeps the excess
            // in its overflow backlog (IORING_FEAT_NODROP) and reap() must flush it.
            Collector c = new Collector();
            reapAll(ring, c, total);
            assertThat(c.userData).hasSize(total).doesNotHaveDuplicates();
            assertThat(c.results).containsOnly(0);
        }
    }

    @Test
    void kernelErrorsArriveAsNegativeErrno() throws Exception {
        Path file = dir.resolve("f");
        BlockFile.createFile(file, 1 << 20);
        try (IoUring ring = new IoUring(8);
             BlockFile readOnly = BlockFile.open(file, fcntl_h.O_RDONLY);
             Arena a = Arena.ofConfined()) {
            MemorySegment aligned = a.allocate(8192, 4096);
            ring.prepRead(987_654, aligned.address(), 4096, 0, 1);              // no such fd
            ring.prepWrite(readOnly.fd(), aligned.address(), 4096, 0, 2);       // fd not open for writing
            ring.prepRead(readOnly.fd(), 0L, 4096, 0, 3);                       // buffer at NULL
            ring.prepRead(readOnly.fd(), aligned.address(), 4096, 0, 4);        // fine
            ring.submit();
            Collector c = new Collector();
            reapAll(ring, c, 4);
            assertThat(c.results.get(c.userData.indexOf(1L))).isEqualTo(-errno_h.EBADF);
            assertThat(c.results.get(c.userData.indexOf(2L))).isEqualTo(-errno_h.EBADF);
            assertThat(c.results.get(c.userData.indexOf(3L))).isEqualTo(-errno_h.EFAULT);
            assertThat(c.results.get(c.userData.indexOf(4L))).isEqualTo(4096);
        }
    }

    @Test
    void setupFailureNamesTheErrno() {
        assertThatThrownBy(() -> new IoUring(0))
                .isInstanceOf(NativeException.class)
                .hasMessageContaining("io_uring_setup")
                .hasMessageContaining("EINVAL")
                .satisfies(e -> assertThat(((NativeException) e).errno()).isEqualTo(errno_h.EINVAL));
    }

    @Test
    void registeredBuffersAndFilesCarryDataBothWays() {
        Path file = dir.resolve("data");
        BlockFile.createFile(file, 1 << 20);
        try (IoUring ring = new IoUring(32);
             BufferPool pool = new BufferPool(8, 64 * 1024);
             BlockFile f = BlockFile.open(file)) {
            ring.registerBuffers(pool.slab());
            ring.registerFiles(f.fd());
            MemorySegment out = pool.acquire();
            MemorySegment in = pool.acquire();
            MemorySegment in2 = pool.acquire();
            fillRandom(out, 42);
            ring.prepWriteFixed(f.fd(), out.address(), (int) out.byteSize(), 128 * 1024, 0, 1);
            ring.submit();
            Collector c = new Collector();
            reapAll(ring, c, 1);
            assertThat(c.results).containsExactly((int) out.byteSize());

            ring.prepReadFixed(f.fd(), in.address(), (int) in.byteSize(), 128 * 1024, 0, 2);
            ring.prepReadRegisteredFile(0, in2.address(), (int) in2.byteSize(), 128 * 1024, 3);
            ring.submit();
            reapAll(ring, c, 3);
            assertThat(c.results).containsOnly((int) out.byteSize());
            assertThat(crc(in)).isEqualTo(crc(out));
            assertThat(crc(in2)).isEqualTo(crc(out));
            ring.unregisterFiles();
            ring.unregisterBuffers();
        }
    }

    @Test
    void vectoredIoScattersAndGathers() {
        Path file = dir.resolve("vec");
        BlockFile.createFile(file, 1 << 20);
        try (IoUring ring = new IoUring(8); BlockFile f = BlockFile.open(file); Arena a = Arena.ofConfined()) {
            MemorySegment[] parts = new MemorySegment[3];
            MemorySegment iov = a.allocate(iovec.layout(), 3);
            for (int i = 0; i < 3; i++) {
                parts[i] = a.allocate(4096L * (i + 1), 4096);
                fillRandom(parts[i], i);
                iovec.iov_base(iov, i * iovec.SIZE, parts[i].address());
                iovec.iov_len(iov, i * iovec.SIZE, parts[i].byteSize());
            }
            ring.prepWritev(f.fd(), iov.address(), 3, 8192, 1);
            ring.submit();
            Collector c = new Collector();
            reapAll(ring, c, 1);
            assertThat(c.results).containsExactly(6 * 4096);
            MemorySegment whole = a.allocate(6 * 4096, 4096);
            ring.prepRead(f.fd(), whole.address(), 6 * 4096, 8192, 2);
            ring.submit();
            reapAll(ring, c, 2);
            assertThat(c.results.get(1)).isEqualTo(6 * 4096);
            assertThat(crc(whole.asSlice(0, 4096))).isEqualTo(crc(parts[0]));
            assertThat(crc(whole.asSlice(4096, 8192))).isEqualTo(crc(parts[1]));
            assertThat(crc(whole.asSlice(12288, 12288))).isEqualTo(crc(parts[2]));
        }
    }

    @Test
    void fsyncAndFallocateRunThroughTheRing() {
        Path file = dir.resolve("falloc");
        BlockFile.createFile(file, 1 << 20);
        try (IoUring ring = new IoUring(8); BlockFile f = BlockFile.open(file); Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(4096, 4096);
            buf.fill((byte) 0x5a);
            f.pwrite(buf, 0);
            ring.prepFallocate(f.fd(), fcntl_h.FALLOC_FL_ZERO_RANGE | fcntl_h.FALLOC_FL_KEEP_SIZE, 0, 4096, 1);
            ring.prepFsync(f.fd(), true, 2);
            ring.submit();
            Collector c = new Collector();
            reapAll(ring, c, 2);
            assertThat(c.results).containsOnly(0);
            f.pread(buf, 0);
            assertThat(buf.toArray(ValueLayout.JAVA_BYTE)).containsOnly((byte) 0);
        }
    }

    @Test
    void aBurstOfDeferredCompletionsIsReapedInOneCycle() {
        // With DEFER_TASKRUN the kernel posts deferred completions only when the ring's task
        // enters, and (on Linux 6.x) a bounded number per enter. 48 reads of eventfds that all
        // become readable at once must still reach the handler in a single duty cycle.
        int n = 48;
        List<EventFd> fds = new ArrayList<>();
        try (IoUring ring = new IoUring(64, 0, IoUring.SINGLE_ISSUER_DEFER_TASKRUN)) {
            for (int i = 0; i < n; i++) {
                EventFd e = new EventFd();
                fds.add(e);
                assertThat(ring.prepRead(e.fd(), e.readBuffer().address(), Long.BYTES, -1L, i)).isTrue();
            }
            Collector c = new Collector();
            assertThat(ring.submitAndReap(c, 1024)).as("nothing readable yet: only submissions").isEqualTo(n);
            assertThat(c.userData).isEmpty();
            fds.forEach(EventFd::signal);
            ring.submitAndReap(c, 1024);
            assertThat(c.userData).hasSize(n);
            assertThat(c.results).containsOnly(Long.BYTES);
        } finally {
            fds.forEach(EventFd::close);
        }
    }

    @Test
    void waitWithTimeoutReturnsWhenNothingCompletes() {
        try (IoUring ring = new IoUring(4)) {
            assertThat(ring.submitAndWaitTimeout(20_000_000L)).isZero();
            assertThat(ring.completionsReady()).isZero();
        }
    }
}
