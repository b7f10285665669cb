package io.panastor.engine.nvmf.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevException;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Identify data from a target is range-checked before it is used: a value out of range fails
 * the attach with an error naming the field and leaves nothing registered; a value that is
 * only unusual (a large MDTS, a small one) works — IO larger than MDTS is split.
 */
class IdentifyChecksTest {
    static final String NQN = "nqn.2026-11.io.panastor:identify-test";
    Reactors targetReactors;
    Reactors hostReactors;
    Bdevs targetBdevs;
    Bdevs hostBdevs;
    NvmfTarget target;
    MisbehavingProxy proxy;

    @BeforeEach
    void start() throws Exception {
        targetReactors = Reactors.start(List.of(0), false, 256);
        hostReactors = Reactors.start(List.of(0), false, 256);
        targetBdevs = new Bdevs();
        targetBdevs.create("malloc:///id?size_mb=8&blk_size=4096");
        target = new NvmfTarget(targetReactors, targetBdevs);
        target.createSubsystem(NQN, "SN-ID", "Panastor", true, List.of());
        target.addNamespace(NQN, "id", 1);
        InetSocketAddress address = target.addListener("127.0.0.1", 0);
        proxy = new MisbehavingProxy(address);
        hostBdevs = new Bdevs(hostReactors);
    }

    @AfterEach
    void stop() throws Exception {
        hostBdevs.destroyAll().join();
        hostReactors.close();
        proxy.close();
        target.close();
        targetBdevs.destroyAll().join();
        targetReactors.close();
    }

    /**
     * Rewrites bytes of the {@code which}-th 4096-byte C2HData on the admin queue (0: Identify
     * Controller, 1: Identify Namespace) at {@code offset}: {@code value} little-endian in
     * {@code size} bytes.
     */
    static MisbehavingProxy.Mutation patchIdentify(int which, int offset, int size, long value) {
        return new MisbehavingProxy.Mutation() {
            int seen;
            boolean done;

            @Override
            public List<byte[]> apply(byte[] p, MisbehavingProxy.Wire w) {
                if (p[0] != MisbehavingProxy.C2H_DATA || MisbehavingProxy.le(p).getInt(16) != 4096 || seen++ != which) {
                    return List.of(p);
                }
                done = true;
                int pdo = p[3] & 0xFF;
                for (int i = 0; i < size; i++) {
                    p[pdo + offset + i] = (byte) (value >>> (8 * i));
                }
                if (w.dd) {
                    MisbehavingProxy.le(p).putInt(pdo + 4096, MisbehavingProxy.crc(p, pdo, 4096));
                }
                return List.of(p);
            }

            @Override
            public boolean done() {
                return done;
            }
        };
    }

    String uri(String params) {
        return "nvmf://127.0.0.1:" + proxy.port() + "/" + NQN + params;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "IOCCSZ 0,            0, 1792, 4, 0,                      IOCCSZ 0",
        "IORCSZ 0,            0, 1796, 4, 0,                      IORCSZ 0",
        "CNTLID mismatch,     0, 78,   2, 0x7777,                 CNTLID 30583",
        "NSZE 0,              1, 0,    8, 0,                      NSZE 0",
        "NSZE 2^62,           1, 0,    8, 4611686018427387904,    overflow",
        "LBADS 31,            1, 130,  1, 31,                     LBADS 31",
        "LBADS 8,             1, 130,  1, 8,                      LBADS 8",
        "metadata,            1, 128,  2, 8,                      metadata",
        "FLBAS past NLBAF,    1, 26,   1, 5,                      FLBAS selects LBA format 5",
    })
    void anIdentifyFieldOutOfRangeFailsTheAttachNamingIt(String name, int which, int offset, int size, long value,
                                                        String message) {
        proxy.armAdmin(patchIdentify(which, offset, size, value));
        assertThatThrownBy(() -> hostBdevs.create(uri("?hdgst=1&ddgst=1")))
                .isInstanceOf(BdevException.class).hasMessageContaining("unusable Identify")
                .hasMessageContaining(message);
        assertThat(hostBdevs.list()).isEmpty();
    }

    @org.junit.jupiter.api.Test
    void aDuplicatedAdminCompletionIsAProtocolErrorNotTheNextCommandsReply() {
        // The Connect's CapsuleResp sent twice: the copy names a CID with nothing in flight (the
        // admin queue matches replies by CID and reuses CIDs late), so it cannot pass for the
        // reply to the Property Get that follows.
        proxy.armAdmin(new MisbehavingProxy.Mutation() {
            boolean done;

            @Override
            public List<byte[]> apply(byte[] p, MisbehavingProxy.Wire w) {
                if (p[0] != MisbehavingProxy.CAPSULE_RESP) {
                    return List.of(p);
                }
                done = true;
                return MisbehavingProxy.list(p, p.clone());
            }

            @Override
            public boolean done() {
                return done;
            }
        });
        assertThatThrownBy(() -> hostBdevs.create(uri("")))
                .isInstanceOf(BdevException.class).hasMessageContaining("which has no command in flight");
        assertThat(hostBdevs.list()).isEmpty();
    }

    @ParameterizedTest(name = "MDTS {0}")
    @CsvSource({"1, 8192", "19, 1048576", "0, 1048576"})
    void ioLargerThanMdtsIsSplitAndReadsBackExactly(int mdts, int expectedMaxTransfer) throws Exception {
        proxy.armAdmin(patchIdentify(0, 77, 1, mdts));
        NvmfBdev bdev = (NvmfBdev) hostBdevs.create(uri(""));
        assertThat(bdev.maxTransfer()).isEqualTo(expectedMaxTransfer);
        int blocks = 32;        // 128 KiB (the real target's own limit): 16 commands at MDTS 1
        try (Arena arena = Arena.ofShared()) {
            MemorySegment out = arena.allocate(blocks * 4096L, 4096);
            MemorySegment in = arena.allocate(blocks * 4096L, 4096);
            new BlockPattern().fill(out, 0, 4096, 100, blocks, 3);
            assertThat(IoRunner.one(hostReactors.get(0), bdev, (io, d) -> io.prepareWrite(100, blocks, out, d)).ok())
                    .isTrue();
            assertThat(IoRunner.one(hostReactors.get(0), bdev, (io, d) -> io.prepareRead(100, blocks, in, d)).ok())
                    .isTrue();
            for (int b = 0; b < blocks; b++) {
                assertThat(new BlockPattern().verify(in, b * 4096L, 4096, 100 + b, 3)).isEqualTo(BlockPattern.Verdict.OK);
            }
        }
        Bdev again = hostBdevs.list().getFirst();
        assertThat(again).isSameAs(bdev);
    }
}
