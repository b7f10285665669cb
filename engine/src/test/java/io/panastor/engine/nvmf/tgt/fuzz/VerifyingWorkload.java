package io.panastor.engine.nvmf.tgt.fuzz;

import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.nvmf.TestHost;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A host that writes checksummed blocks (BlockPattern: LBA and generation stamped, CRC32C)
 * and reads each back while the fuzzer attacks the same target on other connections; any
 * error status, transport failure or wrong data is counted with a description of the first.
 * Runs on its own thread, on a subsystem the fuzzer cannot reach (its host is not allowed).
 */
final class VerifyingWorkload implements Runnable {
    static final int BS = 4096;

    private final InetSocketAddress target;
    private final String nqn;
    private final String hostNqn;
    private final long blocks;
    private final AtomicBoolean stop = new AtomicBoolean();
    final AtomicLong operations = new AtomicLong();
    final AtomicLong failures = new AtomicLong();
    volatile String firstFailure;
    private final Thread thread = new Thread(this, "verifying-workload");

    VerifyingWorkload(InetSocketAddress target, String nqn, String hostNqn, long blocks) {
        this.target = target;
        this.nqn = nqn;
        this.hostNqn = hostNqn;
        this.blocks = blocks;
    }

    void start() {
        thread.start();
    }

    void stop() throws InterruptedException {
        stop.set(true);
        thread.join(60_000);
    }

    private void fail(String what) {
        failures.incrementAndGet();
        if (firstFailure == null) {
            firstFailure = what;
        }
    }

    @Override
    public void run() {
        long[] generation = new long[(int) blocks];
        SplittableRandom random = new SplittableRandom(1);
        BlockPattern pattern = new BlockPattern();
        try (TestHost admin = new TestHost(target); TestHost io = new TestHost(target)) {
            admin.icReq(false, false);
            TestHost.Completion c = admin.connect(0, 31, 0xFFFF, nqn, hostNqn, 0);
            if (!c.ok()) {
                fail("admin connect: status 0x" + Integer.toHexString(c.status()));
                return;
            }
            admin.propertySet(NvmeOpcodes.PROP_CC, 1 | (6 << 16) | (4 << 20));
            io.icReq(true, true);
            c = io.connect(1, 127, c.dw0() & 0xFFFF, nqn, hostNqn, 0);
            if (!c.ok()) {
                fail("IO connect: status 0x" + Integer.toHexString(c.status()));
                return;
            }
            while (!stop.get()) {
                int n = 1 + random.nextInt(random.nextInt(4) == 0 ? 32 : 2);
                long lba = random.nextLong(blocks - n);
                MemorySegment out = MemorySegment.ofArray(new byte[n * BS]);
                for (int i = 0; i < n; i++) {
                    generation[(int) lba + i]++;
                    pattern.fill(out, (long) i * BS, BS, lba + i, 1, generation[(int) lba + i]);
                }
                TestHost.Completion w = io.write(1, lba, out.toArray(ValueLayout.JAVA_BYTE), BS, n <= 2);
                if (!w.ok()) {
                    fail("write of " + n + " at " + lba + ": status 0x" + Integer.toHexString(w.status()));
                }
                TestHost.Completion r = io.read(1, lba, n, BS);
                if (!r.ok()) {
                    fail("read of " + n + " at " + lba + ": status 0x" + Integer.toHexString(r.status()));
                } else {
                    MemorySegment in = MemorySegment.ofArray(r.data());
                    for (int i = 0; i < n; i++) {
                        BlockPattern.Verdict v = pattern.verify(in, (long) i * BS, BS, lba + i,
                                generation[(int) lba + i]);
                        if (v != BlockPattern.Verdict.OK) {
                            fail("block " + (lba + i) + ": " + v);
                        }
                    }
                }
                operations.addAndGet(2);
            }
        } catch (Exception e) {
            fail("workload connection failed: " + e);
        }
    }
}
