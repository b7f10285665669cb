package io.panastor.engine.bdev.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Await;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.BlockPattern.Verdict;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.engine.bdev.IoRunner.Result;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.natives.Errno;
import io.panastor.reactor.ManualNanoClock;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each fault the test kind injects does what it says: statuses and data, on a manual clock (no timing). */
class FaultBdevTest {
    static final int BS = 4096;
    static ManualNanoClock clock;
    static Reactors reactors;
    static Reactor r;
    Bdevs bdevs;
    FaultBdev f;
    Arena arena;
    final BlockPattern pattern = new BlockPattern();

    @BeforeAll
    static void start() {
        clock = new ManualNanoClock();
        reactors = Reactors.builder().count(1).pin(false).clock(clock).start();
        r = reactors.get(0);
    }

    @AfterAll
    static void stop() {
        reactors.close();
    }

    @BeforeEach
    void make() {
        bdevs = new Bdevs(reactors);
        bdevs.create("malloc:///m?size_mb=1&blk_size=4096");
        Bdev b = bdevs.create("fault:///f?base=m");
        f = FaultBdev.get("f");
        assertThat(f).isSameAs(b);
        arena = Arena.ofShared();
    }

    @AfterEach
    void destroy() {
        bdevs.destroyAll().join();
        arena.close();
    }

    MemorySegment block(long lba, long generation) {
        MemorySegment s = arena.allocate(BS, 4096);
        pattern.fill(s, 0, BS, lba, 1, generation);
        return s;
    }

    Result write(long lba, long generation) {
        MemorySegment s = block(lba, generation);
        return IoRunner.one(r, f, (io, d) -> io.prepareWrite(lba, 1, s, d));
    }

    CompletableFuture<Result> submitRead(long lba, MemorySegment into) {
        return IoRunner.many(r, f, List.<IoRunner.Op>of((io, d) -> io.prepareRead(lba, 1, into, d)), 1)
                .thenApply(List::getFirst);
    }

    /** What block {@code lba} reads back as, for {@code generation}. */
    Verdict readBack(long lba, long generation) {
        MemorySegment s = arena.allocate(BS, 4096);
        assertThat(submitRead(lba, s).join().ok()).isTrue();
        return pattern.verify(s, 0, BS, lba, generation);
    }

    @Test
    void theServiceLoaderSeesTheMainKindsAndTheTestKind() {
        assertThat(new Bdevs().schemes()).contains("malloc", "null", "uring", "nvmf", "delay", "fault");
    }

    @Test
    void normallyItForwardsAndCountsAndClaimsItsBase() {
        assertThat(bdevs.claimant("m")).hasValue("fault f");
        assertThat(write(3, 1).ok()).isTrue();
        assertThat(readBack(3, 1)).isEqualTo(Verdict.OK);
        assertThat(f.seen(IoType.WRITE)).isEqualTo(1);
        assertThat(f.seen(IoType.READ)).isEqualTo(1);
        assertThat(f.reachedBase(IoType.WRITE)).isEqualTo(1);
        bdevs.destroy("f").join();
        assertThat(bdevs.claimant("m")).isEmpty();
    }

    @Test
    void failEndsTheTypeWithTheErrnoWithoutReachingTheBaseUntilHealed() {
        assertThat(write(0, 1).ok()).isTrue();
        f.fail(IoType.WRITE, Errno.EIO);
        assertThat(write(0, 2)).isEqualTo(new Result(IoStatus.IO_ERROR, Errno.EIO));
        assertThat(f.reachedBase(IoType.WRITE)).isEqualTo(1);
        assertThat(readBack(0, 1)).isEqualTo(Verdict.OK);     // reads unaffected, the failed write never landed
        f.heal();
        assertThat(write(0, 3).ok()).isTrue();
        assertThat(readBack(0, 3)).isEqualTo(Verdict.OK);
    }

    @Test
    void failAfterReachingBaseLandsTheWriteButReportsTheError() {
        f.failAfterReachingBase(IoType.WRITE, Errno.ENOSPC);
        assertThat(write(1, 7)).isEqualTo(new Result(IoStatus.IO_ERROR, Errno.ENOSPC));
        assertThat(f.reachedBase(IoType.WRITE)).isEqualTo(1);
        assertThat(readBack(1, 7)).isEqualTo(Verdict.OK);
    }

    @Test
    void failAfterLetsNThroughThenFails() {
        f.failAfter(IoType.WRITE, 2);
        assertThat(List.of(write(0, 1), write(1, 1), write(2, 1), write(3, 1)))
                .extracting(Result::status)
                .containsExactly(IoStatus.SUCCESS, IoStatus.SUCCESS, IoStatus.IO_ERROR, IoStatus.IO_ERROR);
        assertThat(f.reachedBase(IoType.WRITE)).isEqualTo(2);
    }

    @Test
    void noSpaceEndsTheTypeWithNoSpace() {
        f.noSpace(IoType.WRITE_ZEROES);
        assertThat(IoRunner.one(r, f, (io, d) -> io.prepareWriteZeroes(0, 1, d)).status()).isEqualTo(IoStatus.NO_SPACE);
        assertThat(write(0, 1).ok()).isTrue();
        assertThat(f.reachedBase(IoType.WRITE_ZEROES)).isZero();
    }

    @Test
    void aHungIoWaitsUntilReleasedAndThenReadsTheData() {
        assertThat(write(5, 4).ok()).isTrue();
        f.hang(IoType.READ);
        MemorySegment into = arena.allocate(BS, 4096);
        CompletableFuture<Result> read = submitRead(5, into);
        Await.until("the read is held", Duration.ofSeconds(10), () -> f.held() == 1);
        clock.advance(1, TimeUnit.HOURS);
        reactors.awaitTimersDue().join();
        assertThat(read).isNotDone();
        assertThat(f.reachedBase(IoType.READ)).isZero();
        f.releaseHung();
        assertThat(read.join().ok()).isTrue();
        assertThat(pattern.verify(into, 0, BS, 5, 4)).isEqualTo(Verdict.OK);
        assertThat(readBack(5, 4)).isEqualTo(Verdict.OK);    // the hang is over
    }

    @Test
    void aHangWithATimeoutEndsInEtimedoutOnTheReactorClock() {
        f.hang(IoType.READ, TimeUnit.MILLISECONDS.toNanos(5));
        CompletableFuture<Result> read = submitRead(0, arena.allocate(BS, 4096));
        Await.until("the read is held", Duration.ofSeconds(10), () -> f.held() == 1);
        clock.advance(4, TimeUnit.MILLISECONDS);
        reactors.awaitTimersDue().join();
        assertThat(read).isNotDone();
        clock.advance(1, TimeUnit.MILLISECONDS);
        assertThat(read.join()).isEqualTo(new Result(IoStatus.IO_ERROR, Errno.ETIMEDOUT));
        assertThat(f.reachedBase(IoType.READ)).isZero();
    }

    @Test
    void aDelayedIoReachesTheBaseOnlyOnceItsTimeHasPassed() {
        f.delay(IoType.WRITE, TimeUnit.MILLISECONDS.toNanos(2));
        MemorySegment s = block(9, 1);
        CompletableFuture<List<Result>> w = IoRunner.many(r, f, List.<IoRunner.Op>of((io, d) -> io.prepareWrite(9, 1, s, d)), 1);
        Await.until("the write is held", Duration.ofSeconds(10), () -> f.held() == 1);
        clock.advance(1, TimeUnit.MILLISECONDS);
        reactors.awaitTimersDue().join();
        assertThat(w).isNotDone();
        assertThat(f.reachedBase(IoType.WRITE)).isZero();
        clock.advance(1, TimeUnit.MILLISECONDS);
        assertThat(w.join().getFirst().ok()).isTrue();
        assertThat(f.reachedBase(IoType.WRITE)).isEqualTo(1);
        assertThat(readBack(9, 1)).isEqualTo(Verdict.OK);
    }

    @Test
    void corruptReadsFlipsAByteInEveryBlockReadUntilHealed() {
        MemorySegment four = arena.allocate(4L * BS, 4096);
        pattern.fill(four, 0, BS, 10, 4, 2);
        assertThat(IoRunner.one(r, f, (io, d) -> io.prepareWrite(10, 4, four, d)).ok()).isTrue();
        f.corruptReads();
        MemorySegment into = arena.allocate(4L * BS, 4096);
        assertThat(IoRunner.one(r, f, (io, d) -> io.prepareVectored(IoType.READ, 10, 4, d)
                .addBuffer(into.asSlice(0, BS + BS / 2)).addBuffer(into.asSlice(BS + BS / 2))).ok()).isTrue();
        for (int b = 0; b < 4; b++) {
            assertThat(pattern.verify(into, (long) b * BS, BS, 10 + b, 2)).as("block %d", b).isEqualTo(Verdict.CORRUPT);
        }
        f.heal();
        for (int b = 0; b < 4; b++) {
            assertThat(readBack(10 + b, 2)).isEqualTo(Verdict.OK);
        }
    }

    @Test
    void removeDeviceFailsHeldIoAndHotRemovesTheBdev() {
        AtomicReference<String> heard = new AtomicReference<>();
        BdevClaim claim = bdevs.claim("f", "nexus-test", c -> heard.set(c.removedReason()));
        f.hang(IoType.READ);
        CompletableFuture<Result> read = submitRead(0, arena.allocate(BS, 4096));
        Await.until("the read is held", Duration.ofSeconds(10), () -> f.held() == 1);
        f.removeDevice();
        assertThat(read.join()).isEqualTo(new Result(IoStatus.IO_ERROR, Errno.ENODEV));
        Await.until("the claimant hears of it", Duration.ofSeconds(10), () -> heard.get() != null);
        assertThat(claim.removed()).isTrue();
        assertThat(bdevs.lookup("f")).isEmpty();
        Await.until("the base is free", Duration.ofSeconds(10), () -> bdevs.claimant("m").isEmpty());
    }
}
