package io.panastor.engine.nvmf.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Many {@code nvmf://} bdevs attached from one engine, each its own controller, with no thread
 * per bdev: every bdev reads a checksummed block back, and the JVM's thread count does not
 * grow with them (every live JVM thread counted). {@code -Dpanastor.host.bdevs=N} sets how
 * many (default {@value #DEFAULT_BDEVS}, a few seconds; the figure is 1,000, about 30 s
 * on an idle 2-core machine); the memory per attached bdev is printed.
 */
class ManyRemoteBdevsTest {
    static final String NQN = "nqn.2026-11.io.panastor:many";
    static final int DEFAULT_BDEVS = 100;
    /** Attaches in flight at once (the target caps connections that have not yet connected). */
    static final int ATTACHING = 32;
    static final int BLOCKS = 256;

    @Test
    void manyRemoteBdevsReadBackWithNoThreadPerBdev() throws Exception {
        int count = Integer.getInteger("panastor.host.bdevs", DEFAULT_BDEVS);
        try (Reactors targetReactors = Reactors.start(List.of(0), false, 1024);
             Reactors hostReactors = Reactors.start(List.of(0, 0), false, 1024);
             Arena arena = Arena.ofShared()) {
            Bdevs targetBdevs = new Bdevs();
            Bdev exported = targetBdevs.create("malloc:///many?size_mb=1&blk_size=4096");
            MemorySegment all = arena.allocate(BLOCKS * 4096L, 4096);
            new BlockPattern().fill(all, 0, 4096, 0, BLOCKS, 9);
            assertThat(IoRunner.one(targetReactors.get(0), exported, (io, d) -> io.prepareWrite(0, BLOCKS, all, d)).ok())
                    .isTrue();
            NvmfTarget target = new NvmfTarget(targetReactors, targetBdevs);
            Bdevs hostBdevs = new Bdevs(hostReactors);
            try {
                target.createSubsystem(NQN, "SN-MANY", "Panastor", true, List.of());
                target.addNamespace(NQN, "many", 1);
                InetSocketAddress address = target.addListener("127.0.0.1", 0);
                String base = "nvmf://127.0.0.1:" + address.getPort() + "/" + NQN + "?kato_ms=120000&connect_timeout_ms=60000&hostnqn="
                        + "nqn.2026-11.io.panastor:many-host-";
                // One bdev first, so that whatever threads the first attach starts lazily are counted before.
                Bdev first = hostBdevs.create(base + "first");
                readsBack(hostReactors, first, 0, arena);
                long heapBefore = usedHeap();
                java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
                int threadsBefore = threads.getThreadCount();
                Semaphore window = new Semaphore(ATTACHING);
                List<CompletableFuture<Bdev>> attaching = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    window.acquire();
                    CompletableFuture<Bdev> f = hostBdevs.createAsync(base + i);
                    f.whenComplete((b, t) -> window.release());
                    attaching.add(f);
                }
                List<Bdev> bdevs = new ArrayList<>();
                for (CompletableFuture<Bdev> f : attaching) {
                    bdevs.add(f.get(120, TimeUnit.SECONDS));
                }
                for (int i = 0; i < count; i++) {
                    readsBack(hostReactors, bdevs.get(i), i, arena);
                }
                int threadsAfter = threads.getThreadCount();
                long heapAfter = usedHeap();
                long nativeBytes = 0;
                for (Bdev b : bdevs) {
                    nativeBytes += ((NvmfBdev) b).nativeBytes();
                }
                System.out.printf("%d nvmf bdevs (each its own controller, one IO queue read): threads %d -> %d; "
                                + "native memory per bdev %d KiB (admin + IO queue buffers), heap ~%d KiB per bdev%n",
                        count, threadsBefore, threadsAfter, nativeBytes / count / 1024,
                        Math.max(0, heapAfter - heapBefore) / count / 1024);
                assertThat(target.controllers()).hasSize(count + 1);
                assertThat(threadsAfter - threadsBefore).as("threads added by %d bdevs", count).isLessThan(8);
            } finally {
                hostBdevs.destroyAll().get(120, TimeUnit.SECONDS);
                target.close();
                targetBdevs.destroyAll().join();
            }
        }
    }

    private static void readsBack(Reactors reactors, Bdev bdev, int i, Arena arena) {
        long lba = i % BLOCKS;
        MemorySegment buf = arena.allocate(4096, 4096);
        assertThat(IoRunner.one(reactors.get(i % reactors.size()), bdev, (io, d) -> io.prepareRead(lba, 1, buf, d)).ok())
                .as("read from bdev %d", i).isTrue();
        assertThat(new BlockPattern().verify(buf, 0, 4096, lba, 9)).isEqualTo(BlockPattern.Verdict.OK);
    }

    private static long usedHeap() {
        Runtime r = Runtime.getRuntime();
        System.gc();
        return r.totalMemory() - r.freeMemory();
    }
}
