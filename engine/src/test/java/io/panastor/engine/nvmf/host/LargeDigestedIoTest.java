package io.panastor.engine.nvmf.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoRunner.Op;
import io.panastor.engine.bdev.IoRunner.Result;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * 128 KiB reads and writes with header and data digests, many in flight: a C2HData payload
 * spans several receives while other commands are built and sealed between them, and its data
 * digest must still cover exactly its own bytes.
 */
class LargeDigestedIoTest {
    static final String NQN = "nqn.2026-11.io.panastor:large-digested";
    static final int BLOCKS = 32;

    @Test
    void largeIoWithDigestsAtDepthReadsBackExactly() throws Exception {
        try (Reactors targetReactors = Reactors.start(List.of(0), false, 256);
             Reactors hostReactors = Reactors.start(List.of(0), false, 256);
             Arena arena = Arena.ofShared()) {
            Bdevs targetBdevs = new Bdevs();
            targetBdevs.create("malloc:///large?size_mb=16&blk_size=4096");
            NvmfTarget target = new NvmfTarget(targetReactors, targetBdevs);
            Bdevs hostBdevs = new Bdevs(hostReactors);
            try {
                target.createSubsystem(NQN, "SN-LARGE", "Panastor", true, List.of());
                target.addNamespace(NQN, "large", 1);
                InetSocketAddress address = target.addListener("127.0.0.1", 0);
                Bdev bdev = hostBdevs.create("nvmf://127.0.0.1:" + address.getPort() + "/" + NQN + "?hdgst=1&ddgst=1");
                int n = 24;
                List<MemorySegment> out = new ArrayList<>();
                List<Op> writes = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    long lba = (long) i * BLOCKS;
                    MemorySegment d = arena.allocate(BLOCKS * 4096L, 4096);
                    new BlockPattern().fill(d, 0, 4096, lba, BLOCKS, 4);
                    out.add(d);
                    writes.add((io, c) -> io.prepareWrite(lba, BLOCKS, d, c));
                }
                assertThat(IoRunner.many(hostReactors.get(0), bdev, writes, 8).join()).allMatch(Result::ok);
                // Reads of what was written, mixed with writes elsewhere: H2CData (digests copied and
                // computed when a send completes) is built while C2HData payloads are half in.
                List<MemorySegment> in = new ArrayList<>();
                List<Op> mixed = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    long lba = (long) i * BLOCKS;
                    MemorySegment d = arena.allocate(BLOCKS * 4096L, 4096);
                    in.add(d);
                    mixed.add((io, c) -> io.prepareRead(lba, BLOCKS, d, c));
                    long other = (long) (n + i) * BLOCKS;
                    MemorySegment w = out.get(i);
                    mixed.add((io, c) -> io.prepareWrite(other, BLOCKS, w, c));
                }
                assertThat(IoRunner.many(hostReactors.get(0), bdev, mixed, 8).join()).allMatch(Result::ok);
                for (int i = 0; i < n; i++) {
                    for (int b = 0; b < BLOCKS; b++) {
                        assertThat(new BlockPattern().verify(in.get(i), b * 4096L, 4096, (long) i * BLOCKS + b, 4))
                                .isEqualTo(BlockPattern.Verdict.OK);
                    }
                }
            } finally {
                hostBdevs.destroyAll().join();
                target.close();
                targetBdevs.destroyAll().join();
            }
        }
    }
}
