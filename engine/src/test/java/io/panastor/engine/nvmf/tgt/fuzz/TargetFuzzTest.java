package io.panastor.engine.nvmf.tgt.fuzz;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.nvmf.TestHost;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The target attacked as an adversary would: thousands of seeded cases (millions with
 * {@code -Dpanastor.fuzz.cases=N}; {@code -Dpanastor.fuzz.seed=S} repeats a run) from
 * {@link PduFuzzer}, each on its own connection brought to a stage (raw, after ICReq, admin
 * queue, IO queue, a write waiting for its H2CData), while a verifying workload writes and
 * reads checksummed blocks on another subsystem. Per case the target answers, terminates
 * (C2HTermReq, then closes) or closes within a hang bound — or, where it may rightly wait (a
 * truncated PDU, a held AER, a partial H2CData), lets the connection go when the host drops
 * it. Then: no handler threw, every connection is gone again, the workload saw no error and
 * no wrong data. A failing case prints its stage and bytes; the run prints its seed and counts.
 */
class TargetFuzzTest {
    static final String NQN = "nqn.2026-11.io.panastor:fuzz";
    static final String VERIFY_NQN = "nqn.2026-11.io.panastor:fuzz-verify";
    static final String VERIFY_HOST = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000feed0";
    static final long DEFAULT_CASES = 3000;
    /** Hang detector only: an answer that takes this long is a hang, whatever the machine's load. */
    static final int HANG_MILLIS = 30_000;
    /** How long a case that may rightly be waited on is given to answer before the host drops it. */
    static final int MAY_WAIT_MILLIS = 20;
    static final int CHECK_EVERY = 250;

    enum Outcome { ANSWERED, TERMINATED, CLOSED, WAITED }

    @Test
    void everyHostileInputIsAnsweredTerminatedOrClosedAndTheVerifyingWorkloadSeesNoError() throws Exception {
        long cases = Long.getLong("panastor.fuzz.cases", DEFAULT_CASES);
        long seed = Long.getLong("panastor.fuzz.seed", System.nanoTime());
        System.out.printf("fuzz: seed %d, %d cases (-Dpanastor.fuzz.seed=%d repeats this run)%n", seed, cases, seed);
        Reactors reactors = Reactors.start(2);
        Bdevs bdevs = new Bdevs();
        NvmfTarget target = new NvmfTarget(reactors, bdevs);
        Map<Outcome, Long> outcomes = new EnumMap<>(Outcome.class);
        Map<PduFuzzer.Stage, Long> stages = new EnumMap<>(PduFuzzer.Stage.class);
        VerifyingWorkload workload = null;
        try {
            bdevs.create("malloc:///fz0?size_mb=16&blk_size=4096");
            bdevs.create("malloc:///fzv?size_mb=16&blk_size=4096");
            target.createSubsystem(NQN, "SN-FUZZ", "Panastor fuzz", true, List.of());
            target.addNamespace(NQN, "fz0", 1);
            target.createSubsystem(VERIFY_NQN, "SN-FUZZ-V", "Panastor fuzz verify", false, List.of(VERIFY_HOST));
            target.addNamespace(VERIFY_NQN, "fzv", 1);
            InetSocketAddress address = target.addListener("127.0.0.1", 0);
            workload = new VerifyingWorkload(address, VERIFY_NQN, VERIFY_HOST, 4096);
            workload.start();
            try (TestHost sharedAdmin = new TestHost(address)) {
                int cntlid = sharedAdmin.openAdmin(NQN, 0);
                VerifyingWorkload w = workload;
                Await.until("the verifying workload to run", Duration.ofSeconds(60),
                        () -> w.operations.get() > 0 || w.failures.get() > 0);
                int baseline = 3;
                Await.until("the baseline connections", Duration.ofSeconds(60),
                        () -> target.connections().size() == baseline);
                PduFuzzer fuzzer = new PduFuzzer(seed, NQN);
                int[] nextQid = {1};
                for (long i = 0; i < cases; i++) {
                    PduFuzzer.Case c = fuzzer.next(i);
                    stages.merge(c.stage(), 1L, Long::sum);
                    Outcome o = run(address, cntlid, nextQid, c);
                    outcomes.merge(o, 1L, Long::sum);
                    if ((i + 1) % CHECK_EVERY == 0 || i + 1 == cases) {
                        long done = i + 1;
                        Await.until("connections back to the baseline after case " + i + " (" + done + " run)",
                                Duration.ofMillis(HANG_MILLIS * 2L), () -> target.connections().size() == baseline);
                        assertThat(target.counters().handlerFailures()).as("handlers that threw, by case %d", i)
                                .isZero();
                        assertThat(w.failures.get()).as("verifying workload failures by case %d: %s", i,
                                w.firstFailure).isZero();
                        assertThat(sharedAdmin.admin(NvmeOpcodes.ADMIN_KEEP_ALIVE, 0, 0, 0, 0).ok())
                                .as("the shared admin queue still answers").isTrue();
                    }
                }
            }
            long opsBefore = workload.operations.get();
            VerifyingWorkload w = workload;
            Await.until("the workload to go on after the fuzzing", Duration.ofSeconds(60),
                    () -> w.operations.get() > opsBefore + 10 || w.failures.get() > 0);
            workload.stop();
            System.out.printf("fuzz: %d cases, outcomes %s, stages %s; verifying workload %d operations, %d failures;"
                            + " handler failures %d; handshake timeouts %d%n", cases, outcomes, stages,
                    workload.operations.get(), workload.failures.get(), target.counters().handlerFailures(),
                    target.counters().handshakeTimeouts());
            assertThat(workload.failures.get()).as("verifying workload: %s", workload.firstFailure).isZero();
            assertThat(workload.operations.get()).isPositive();
            Await.until("only the verifying workload's connections to be gone", Duration.ofSeconds(60),
                    () -> target.connections().isEmpty());
        } finally {
            if (workload != null) {
                workload.stop();
            }
            target.close();
            bdevs.destroyAll().join();
            reactors.close();
        }
    }

    /** Brings a connection to the case's stage, sends its bytes, and classifies what the target did. */
    private static Outcome run(InetSocketAddress address, int cntlid, int[] nextQid, PduFuzzer.Case c)
            throws Exception {
        try (TestHost h = new TestHost(address)) {
            h.readTimeout(HANG_MILLIS);
            try {
                prepare(h, c, cntlid, nextQid);
            } catch (IOException | AssertionError e) {
                throw new AssertionError("preparing " + c.describe() + ": " + e, e);
            }
            try {
                h.send(c.bytes());
            } catch (IOException e) {
                return Outcome.CLOSED;      // the target already closed (it may, for what came before)
            }
            h.readTimeout(c.mayWait() ? MAY_WAIT_MILLIS : HANG_MILLIS);
            try {
                ByteBuffer p = h.readPdu();
                if (p.get(0) == C2H_TERM_REQ) {
                    h.readTimeout(HANG_MILLIS);
                    assertThat(h.closedByTarget()).as("closed after its C2HTermReq: %s", c.describe()).isTrue();
                    return Outcome.TERMINATED;
                }
                return Outcome.ANSWERED;
            } catch (SocketTimeoutException e) {
                if (!c.mayWait()) {
                    throw new AssertionError("no answer, termination or close within " + HANG_MILLIS + " ms: "
                            + c.describe());
                }
                return Outcome.WAITED;
            } catch (EOFException | SocketException e) {
                return Outcome.CLOSED;
            } catch (IOException e) {
                return Outcome.ANSWERED;     // an answer our test host could not parse (a bad digest we asked for)
            }
        }
    }

    private static void prepare(TestHost h, PduFuzzer.Case c, int cntlid, int[] nextQid) throws IOException {
        switch (c.stage()) {
            case RAW -> {
            }
            case IC -> h.icReq(c.digests(), c.digests());
            case ADMIN -> {
                h.icReq(c.digests(), c.digests());
                TestHost.Completion r = h.connect(0, 31, 0xFFFF, c.discovery() ? NvmeOpcodes.DISCOVERY_NQN : NQN,
                        TestHost.HOST_NQN, 0);
                assertThat(r.ok()).as("admin connect").isTrue();
                h.propertySet(NvmeOpcodes.PROP_CC, 1 | (6 << 16) | (4 << 20));
            }
            case IO, R2T -> {
                h.icReq(c.digests(), c.digests());
                connectIo(h, cntlid, nextQid);
                if (c.stage() == PduFuzzer.Stage.R2T) {
                    ByteBuffer s = TestHost.sqe(NvmeOpcodes.NVM_WRITE, 1);
                    s.putShort(2, (short) 0x4242).putLong(40, 100).putInt(48, 3);
                    s.putLong(24, 0).putInt(32, 4 * 4096).put(39, (byte) 0x5A);
                    h.send(h.capsule(s, null));
                    ByteBuffer r2t = h.readPdu();
                    assertThat(r2t.get(0)).as("R2T").isEqualTo((byte) R2T);
                }
            }
            default -> throw new IllegalStateException();
        }
    }

    /** Connects an IO queue of the shared controller on the next QID (one freed by a closed case may lag). */
    private static void connectIo(TestHost h, int cntlid, int[] nextQid) throws IOException {
        for (int attempt = 0; attempt < 64; attempt++) {
            int qid = nextQid[0];
            nextQid[0] = qid % 64 + 1;
            TestHost.Completion r = h.connect(qid, 127, cntlid, NQN, TestHost.HOST_NQN, 0);
            if (r.ok()) {
                return;
            }
        }
        throw new AssertionError("no free IO queue ID on the shared controller");
    }
}
