package io.panastor.engine.nvmf.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoRunner.Result;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The initiator against a target that misbehaves on purpose ({@link MisbehavingProxy} in front
 * of Panastor's target, one generated {@link HostFuzzCase} per IO): every IO either fails or
 * returns exactly the right checksummed data — a write that succeeds is on the target — never
 * success with wrong or missing data; legal oddities (split, merged, trickled data) succeed;
 * and after each case the queue recovers (a clean read succeeds). No case may hang: each IO
 * and each recovery is bounded (a hang detector, not a performance check).
 *
 * <p>Seeded and reproducible: {@code -Dpanastor.fuzz.seed=S} (default fixed),
 * {@code -Dpanastor.fuzz.host.cases=N} (IO cases, default 160) and
 * {@code -Dpanastor.fuzz.host.admin.cases=N} (attach cases, default 40); more behind the flags.
 */
class NvmfHostFuzzTest {
    static final String NQN = "nqn.2026-11.io.panastor:host-fuzz";
    static final int BS = 4096;
    /** Reads go to [0, READ_BLOCKS), written once; writes to [WRITE_BASE, WRITE_BASE + READ_BLOCKS). */
    static final int READ_BLOCKS = 512;
    static final int WRITE_BASE = 1024;
    static final long READ_GENERATION = 1;
    /** Longest any one IO or recovery may take before the case counts as a hang. */
    static final long HANG_SECONDS = 120;

    Reactors targetReactors;
    Reactors hostReactors;
    Bdevs targetBdevs;
    Bdevs hostBdevs;
    NvmfTarget target;
    Bdev exported;
    MisbehavingProxy proxy;

    @BeforeEach
    void start() throws Exception {
        targetReactors = Reactors.start(List.of(0), false, 256);
        hostReactors = Reactors.start(List.of(0), false, 256);
        targetBdevs = new Bdevs();
        exported = targetBdevs.create("malloc:///fuzz?size_mb=8&blk_size=4096");
        target = new NvmfTarget(targetReactors, targetBdevs);
        target.createSubsystem(NQN, "SN-FUZZ", "Panastor", true, List.of());
        target.addNamespace(NQN, "fuzz", 1);
        InetSocketAddress address = target.addListener("127.0.0.1", 0);
        proxy = new MisbehavingProxy(address);
        hostBdevs = new Bdevs(hostReactors);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment all = arena.allocate((long) READ_BLOCKS * BS, 4096);
            new BlockPattern().fill(all, 0, BS, 0, READ_BLOCKS, READ_GENERATION);
            assertThat(IoRunner.one(targetReactors.get(0), exported,
                    (io, d) -> io.prepareWrite(0, READ_BLOCKS, all, d)).ok()).isTrue();
        }
    }

    @AfterEach
    void stop() throws Exception {
        hostBdevs.destroyAll().join();
        hostReactors.close();
        proxy.close();
        target.close();
        targetBdevs.destroyAll().get(HANG_SECONDS, TimeUnit.SECONDS);
        targetReactors.close();
    }

    @Test
    void noMisbehavingTargetMakesTheInitiatorTakeWrongDataForSuccess() throws Exception {
        long seed = Long.getLong("panastor.fuzz.seed", 0x5eed_f022L);
        int cases = Integer.getInteger("panastor.fuzz.host.cases", 160);
        String base = "nvmf://127.0.0.1:" + proxy.port() + "/" + NQN + "?kato_ms=60000&connect_timeout_ms=60000";
        Bdev plain = hostBdevs.create(base);
        Bdev digested = hostBdevs.create(base + "&hdgst=1&ddgst=1");
        Reactor host = hostReactors.get(0);
        Random rnd = new Random(seed);
        HostFuzzCase.Kind[] kinds = HostFuzzCase.Kind.values();
        Map<HostFuzzCase.Kind, int[]> tally = new EnumMap<>(HostFuzzCase.Kind.class);
        List<String> violations = new ArrayList<>();
        long generation = 100;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(8L * BS, 4096);
            MemorySegment check = arena.allocate(8L * BS, 4096);
            for (int i = 0; i < cases; i++) {
                boolean digests = rnd.nextBoolean();
                HostFuzzCase.Kind kind;
                do {
                    kind = kinds[rnd.nextInt(kinds.length)];
                } while (!kind.fits(digests));
                HostFuzzCase c = new HostFuzzCase(rnd.nextLong(), kind);
                Bdev bdev = digests ? digested : plain;
                int blocks = kind.write ? 8 : 1 + rnd.nextInt(8);
                long lba = (kind.write ? WRITE_BASE : 0) + rnd.nextInt(READ_BLOCKS - blocks);
                long gen = ++generation;
                MemorySegment data = buf.asSlice(0, (long) blocks * BS);
                if (kind.write) {
                    new BlockPattern().fill(data, 0, BS, lba, blocks, gen);
                } else {
                    data.fill((byte) 0x5A);
                }
                if (Boolean.getBoolean("panastor.fuzz.trace")) {
                    System.err.println("case " + i + ": " + c + (digests ? " with digests" : ""));
                }
                proxy.arm(c);
                Result r = bounded(host, bdev, kind.write
                        ? (io, d) -> io.prepareWrite(lba, blocks, data, d)
                        : (io, d) -> io.prepareRead(lba, blocks, data, d), c);
                proxy.disarm();
                tally.computeIfAbsent(kind, k -> new int[2])[r.ok() ? 0 : 1]++;
                String what = c + (digests ? " with digests" : "") + " on " + blocks + " block(s) at " + lba;
                if (r.ok()) {
                    MemorySegment written = check.asSlice(0, (long) blocks * BS);
                    if (kind.write) {
                        assertThat(IoRunner.one(targetReactors.get(0), exported,
                                (io, d) -> io.prepareRead(lba, blocks, written, d)).ok()).isTrue();
                    }
                    String bad = verify(kind.write ? written : data, lba, blocks, kind.write ? gen : READ_GENERATION);
                    if (bad != null) {
                        violations.add(what + ": success with wrong data: " + bad);
                    }
                }
                if (r.ok() && kind.expect == HostFuzzCase.Expect.FAILURE) {
                    violations.add(what + ": succeeded although the target broke the protocol");
                }
                if (!r.ok() && kind.expect == HostFuzzCase.Expect.SUCCESS) {
                    violations.add(what + ": failed (" + r + ") although the target only did what it may");
                }
                recover(host, bdev, check, c);
            }
        }
        System.out.println("host fuzz: " + cases + " cases (seed " + seed + "), [succeeded, failed] by kind: "
                + tally.entrySet().stream().map(e -> e.getKey() + "=" + java.util.Arrays.toString(e.getValue())).toList());
        assertThat(violations).isEmpty();
    }

    @Test
    void aMisbehavingAdminQueueFailsTheAttachCleanlyOrGivesTheRightGeometry() throws Exception {
        // The same misbehaviours on the admin queue's replies (Identify data, completions):
        // the attach fails with nothing registered, or the bdev is exactly the namespace.
        long seed = Long.getLong("panastor.fuzz.seed", 0x5eed_f022L) ^ 0xAD;
        int cases = Integer.getInteger("panastor.fuzz.host.admin.cases", 40);
        Random rnd = new Random(seed);
        List<HostFuzzCase.Kind> kinds = java.util.Arrays.stream(HostFuzzCase.Kind.values())
                .filter(k -> !k.write).toList();
        int attached = 0;
        List<String> violations = new ArrayList<>();
        for (int i = 0; i < cases; i++) {
            boolean digests = rnd.nextBoolean();
            HostFuzzCase.Kind kind;
            do {
                kind = kinds.get(rnd.nextInt(kinds.size()));
            } while (!kind.fits(digests));
            HostFuzzCase c = new HostFuzzCase(rnd.nextLong(), kind);
            String uri = "nvmf://127.0.0.1:" + proxy.port() + "/" + NQN + "?connect_timeout_ms=60000&hostnqn="
                    + "nqn.2026-11.io.panastor:admin-fuzz-" + i + (digests ? "&hdgst=1&ddgst=1" : "");
            proxy.armAdmin(c);
            Bdev b;
            try {
                b = hostBdevs.createAsync(uri).get(HANG_SECONDS, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                b = null;
            } catch (TimeoutException e) {
                throw new AssertionError("the attach of case " + c + " hung", e);
            }
            proxy.armAdmin(null);
            if (b == null) {
                if (!hostBdevs.list().isEmpty()) {
                    violations.add(c + ": a failed attach left " + hostBdevs.list());
                }
                if (kind.expect == HostFuzzCase.Expect.SUCCESS) {
                    violations.add(c + ": a legal reply failed the attach");
                }
                continue;
            }
            attached++;
            if (b.blockSize() != BS || b.blockCount() != exported.blockCount()) {
                violations.add(c + ": attached as " + b.blockCount() + " x " + b.blockSize());
            }
            if (kind.expect == HostFuzzCase.Expect.FAILURE) {
                violations.add(c + ": attached although the target broke the protocol");
            }
            hostBdevs.destroy(b.name()).get(HANG_SECONDS, TimeUnit.SECONDS);
        }
        System.out.println("host admin fuzz: " + cases + " cases (seed " + seed + "), " + attached + " attached");
        assertThat(violations).isEmpty();
    }

    /** The IO's result; a case that never completes is a hang (fails the test with its seed). */
    private static Result bounded(Reactor host, Bdev bdev, IoRunner.Op op, HostFuzzCase c) throws Exception {
        try {
            return IoRunner.many(host, bdev, List.of(op), 1).get(HANG_SECONDS, TimeUnit.SECONDS).getFirst();
        } catch (TimeoutException e) {
            throw new AssertionError("the IO of case " + c + " hung", e);
        }
    }

    /** After the case the queue works again: a clean read returns the right data. */
    private void recover(Reactor host, Bdev bdev, MemorySegment check, HostFuzzCase c) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_SECONDS);
        MemorySegment one = check.asSlice(0, BS);
        while (true) {
            one.fill((byte) 0);
            Result r = bounded(host, bdev, (io, d) -> io.prepareRead(7, 1, one, d), c);
            if (r.ok()) {
                String bad = verify(one, 7, 1, READ_GENERATION);
                assertThat(bad).as("clean read after case %s", c).isNull();
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no recovery after case " + c + ": " + r);
            }
        }
    }

    private static String verify(MemorySegment data, long lba, int blocks, long generation) {
        BlockPattern p = new BlockPattern();
        for (int b = 0; b < blocks; b++) {
            BlockPattern.Verdict v = p.verify(data, (long) b * BS, BS, lba + b, generation);
            if (v != BlockPattern.Verdict.OK) {
                return "block " + b + ": " + v;
            }
        }
        return null;
    }
}
