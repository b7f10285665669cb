package io.panastor.engine;

import static io.panastor.engine.Failures.failure;
import static io.panastor.engine.error.EngineException.Reason.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Engine's control path (issue 10): every operation answers with a future, and every way
 * it can fail is a typed {@link EngineException} whose reason a management API maps
 * one-to-one — and a failed operation changes nothing.
 */
class EngineTest {
    static final String NQN = "nqn.2026-12.io.panastor:engine-test";

    Engine engine;

    @BeforeEach
    void start() {
        engine = Engine.start(Reactors.builder().count(1).pin(false));
    }

    @AfterEach
    void stop() {
        engine.close();
    }

    @Test
    void bdevOperationsFailWithTheirReasons() {
        failure(engine.createBdev(" "), INVALID_ARGUMENT);
        assertThat(failure(engine.createBdev("nosuchkind:///x"), INVALID_ARGUMENT).getMessage()).contains("nosuchkind");
        failure(engine.createBdev("malloc:///m0?size_mb=banana"), INVALID_ARGUMENT);
        failure(engine.createBdev("uring:///no/such/dir/panastor-engine-test.img"), NOT_FOUND);
        assertThat(engine.createBdev("malloc:///m0?size_mb=8&blk_size=4096").join().name()).isEqualTo("m0");
        assertThat(failure(engine.createBdev("malloc:///m0?size_mb=16&blk_size=4096"), ALREADY_EXISTS).getMessage())
                .contains("m0");
        assertThat(failure(engine.destroyBdev("m9"), NOT_FOUND).getMessage()).contains("m9");
        assertThat(engine.listBdevs()).extracting(b -> b.name()).containsExactly("m0");
        engine.destroyBdev("m0").join();
        assertThat(engine.listBdevs()).isEmpty();
    }

    @Test
    void subsystemOperationsFailWithTheirReasons() {
        failure(engine.createSubsystem("not-an-nqn", "SN1", "model", true, List.of()), INVALID_ARGUMENT);
        failure(engine.createSubsystem(NQN, "", "model", true, List.of()), INVALID_ARGUMENT);
        failure(engine.createSubsystem(NQN, "SN1", "x".repeat(41), true, List.of()), INVALID_ARGUMENT);
        failure(engine.createSubsystem(NQN, "SN1", "model", false, List.of("bad host")), INVALID_ARGUMENT);
        engine.createSubsystem(NQN, "SN1", "model", true, List.of()).join();
        assertThat(failure(engine.createSubsystem(NQN, "SN2", "model", true, List.of()), ALREADY_EXISTS)
                .getMessage()).contains(NQN);
        failure(engine.destroySubsystem("nqn.2026-12.io.panastor:nope"), NOT_FOUND);
        failure(engine.destroySubsystem(NvmeOpcodes.DISCOVERY_NQN), INVALID_ARGUMENT);
        assertThat(engine.target().subsystem(NQN).serial()).as("the failed create changed nothing").isEqualTo("SN1");
        engine.destroySubsystem(NQN).join();
        failure(engine.destroySubsystem(NQN), NOT_FOUND);
    }

    @Test
    void namespaceOperationsFailWithTheirReasonsAndAnExportedBdevIsBusy() {
        engine.createBdev("malloc:///m0?size_mb=8&blk_size=4096").join();
        engine.createBdev("malloc:///m1?size_mb=8&blk_size=4096").join();
        failure(engine.addNamespace(NQN, "m0", 1), NOT_FOUND);
        engine.createSubsystem(NQN, "SN1", "model", true, List.of()).join();
        failure(engine.addNamespace(NQN, "m9", 1), NOT_FOUND);
        failure(engine.addNamespace(NQN, "m0", -1), INVALID_ARGUMENT);
        failure(engine.addNamespace(NQN, "m0", 100_000), INVALID_ARGUMENT);
        failure(engine.addNamespace(NvmeOpcodes.DISCOVERY_NQN, "m0", 1), INVALID_ARGUMENT);
        assertThat(engine.addNamespace(NQN, "m0", 1).join().nsid()).isEqualTo(1);
        failure(engine.addNamespace(NQN, "m1", 1), ALREADY_EXISTS);
        failure(engine.addNamespace(NQN, "m0", 2), ALREADY_EXISTS);
        assertThat(failure(engine.destroyBdev("m0"), BUSY).getMessage()).contains("m0").contains(NQN);
        failure(engine.removeNamespace(NQN, 7), NOT_FOUND);
        assertThat(engine.target().subsystem(NQN).namespaces()).hasSize(1);
        engine.removeNamespace(NQN, 1).join();
        engine.destroyBdev("m0").join();
        assertThat(engine.listBdevs()).extracting(b -> b.name()).containsExactly("m1");
    }

    @Test
    void listenerOperationsFailWithTheirReasons() {
        failure(engine.addListener("127.0.0.1", 70_000), INVALID_ARGUMENT);
        InetSocketAddress bound = engine.addListener("127.0.0.1", 0).join();
        assertThat(failure(engine.addListener("127.0.0.1", bound.getPort()), ALREADY_EXISTS).getMessage())
                .contains("EADDRINUSE");
        // 192.0.2.1 (TEST-NET-1) is no address of this machine: bind(2) refuses it, nothing is sent.
        failure(engine.addListener("192.0.2.1", 0), INVALID_ARGUMENT);
        failure(engine.removeListener(new InetSocketAddress("127.0.0.1", 1)), NOT_FOUND);
        assertThat(engine.target().listeners()).containsExactly(bound);
        engine.removeListener(bound).join();
        assertThat(engine.target().listeners()).isEmpty();
    }

    @Test
    void aClaimIsExclusiveNamesItsClaimantAndIsReleasedOnClose() {
        engine.createBdev("malloc:///m0?size_mb=8&blk_size=4096").join();
        failure(engine.claimBdev("m9", "pool p0"), NOT_FOUND);
        failure(engine.claimBdev("m0", " "), INVALID_ARGUMENT);
        BdevClaim pool = engine.claimBdev("m0", "pool p0").join();
        assertThat(pool.bdev().name()).isEqualTo("m0");
        assertThat(failure(engine.claimBdev("m0", "nexus n1"), BUSY).getMessage()).contains("pool p0");
        assertThat(failure(engine.destroyBdev("m0"), BUSY).getMessage()).contains("pool p0");
        assertThat(engine.bdevs().claimant("m0")).contains("pool p0");
        pool.close();
        pool.close();   // twice: nothing more
        assertThat(engine.bdevs().claimant("m0")).isEmpty();
        try (BdevClaim nexus = engine.claimBdev("m0", "nexus n1").join()) {
            assertThat(nexus.claimant()).isEqualTo("nexus n1");
            assertThat(failure(engine.claimBdev("m0", "pool p0"), BUSY).getMessage()).contains("nexus n1");
        }
        engine.destroyBdev("m0").join();
        assertThat(engine.listBdevs()).isEmpty();
    }

    @Test
    void controlPathIoFromANonReactorThreadCompletesAFutureWithTheDataWritten() {
        engine.createBdev("malloc:///m0?size_mb=8&blk_size=4096").join();
        int bs = 4096;
        int blocks = 8;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment out = arena.allocate((long) bs * blocks, 4096);
            MemorySegment in = arena.allocate((long) bs * blocks, 4096);
            new BlockPattern().fill(out, 0, bs, 16, blocks, 7);
            assertThat(Thread.currentThread().getName()).doesNotStartWith("reactor");
            Engine.IoResult w = engine.write("m0", 16, blocks, out).join();
            assertThat(w.ok()).as("write: " + w).isTrue();
            assertThat(engine.flush("m0").join().ok()).isTrue();
            Engine.IoResult r = engine.read("m0", 16, blocks, in).join();
            assertThat(r.ok()).as("read: " + r).isTrue();
            assertThat(in.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(out.toArray(ValueLayout.JAVA_BYTE));
            // An IO that runs and fails completes with its status; one that cannot start fails the future.
            Engine.IoResult beyond = engine.read("m0", 2048, 1, in).join();
            assertThat(beyond.ok()).as("a read past the end: " + beyond).isFalse();
            failure(engine.read("m9", 0, 1, in), NOT_FOUND);
        }
    }

    @Test
    void aStoppedEngineIsUnavailable() {
        engine.close();
        failure(engine.createBdev("malloc:///m0?size_mb=8"), UNAVAILABLE);
        failure(engine.createSubsystem(NQN, "SN1", "model", true, List.of()), UNAVAILABLE);
        failure(engine.addListener("127.0.0.1", 0), UNAVAILABLE);
        engine.close();     // twice: nothing more
    }

    @Test
    void anythingElseIsInternalAndCarriesItsCause() {
        IllegalStateException bug = new IllegalStateException("a bug");
        EngineException e = EngineException.of(new CompletionException(bug));
        assertThat(e.reason()).isEqualTo(INTERNAL);
        assertThat(e.getCause()).isSameAs(bug);
        // A system call's failure keeps its meaning: its errno picks the reason.
        assertThat(EngineException.of(new io.panastor.natives.NativeException("write(f)", io.panastor.natives.Errno.ENOSPC))
                .reason()).isEqualTo(NO_SPACE);
        assertThat(EngineException.of(new io.panastor.natives.NativeException("open(f)", io.panastor.natives.Errno.ENOENT))
                .reason()).isEqualTo(NOT_FOUND);
        assertThat(EngineException.of(new io.panastor.natives.NativeException("pread(f)", io.panastor.natives.Errno.EIO))
                .reason()).isEqualTo(IO_ERROR);
        EngineException typed = new EngineException(NO_SPACE, "full");
        assertThat(EngineException.of(new CompletionException(typed))).isSameAs(typed);
        assertThatThrownBy(() -> {
            throw typed;
        }).hasToString("NO_SPACE: full");
    }
}
