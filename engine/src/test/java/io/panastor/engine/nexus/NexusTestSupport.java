package io.panastor.engine.nexus;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.bdev.IoRunner;
import io.panastor.reactor.Reactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** What the nexus tests share: checksummed writes and verifying reads of whole block ranges, through any bdev. */
final class NexusTestSupport {
    static final int BS = 4096;
    static final long MiB = 1L << 20;

    private NexusTestSupport() {
    }

    static NexusSpec spec(String name, long size, String... children) {
        return new NexusSpec(name, UUID.randomUUID(), size, List.of(children), null);
    }

    static String malloc(String name, int mb) {
        return "malloc:///" + name + "?size_mb=" + mb + "&blk_size=" + BS;
    }

    /**
     * Writes blocks {@code [first, first+count)} of {@code bdev} on reactor {@code r}, each
     * one block IO with the pattern of {@code generation}, {@code depth} at once; the results.
     */
    static List<IoRunner.Result> write(Reactor r, Bdev bdev, long first, int count, long generation, int depth,
                                       Arena arena) {
        return writeAsync(r, bdev, first, count, generation, depth, arena).join();
    }

    /** Starts the same writes without waiting. */
    static CompletableFuture<List<IoRunner.Result>> writeAsync(Reactor r, Bdev bdev, long first, int count,
                                                                long generation, int depth, Arena arena) {
        MemorySegment buf = arena.allocate((long) count * BS, BS);
        new BlockPattern().fill(buf, 0, BS, first, count, generation);
        List<IoRunner.Op> ops = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long lba = first + i;
            MemorySegment b = buf.asSlice((long) i * BS, BS);
            ops.add((io, done) -> io.prepareWrite(lba, 1, b, done));
        }
        return IoRunner.many(r, bdev, ops, depth);
    }

    /** Reads blocks {@code [first, first+count)} of {@code bdev} on {@code r}; every read must succeed. */
    static MemorySegment read(Reactor r, Bdev bdev, long first, int count, int depth, Arena arena) {
        MemorySegment buf = arena.allocate((long) count * BS, BS);
        List<IoRunner.Op> ops = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long lba = first + i;
            MemorySegment b = buf.asSlice((long) i * BS, BS);
            ops.add((io, done) -> io.prepareRead(lba, 1, b, done));
        }
        List<IoRunner.Result> results = IoRunner.many(r, bdev, ops, depth).join();
        assertThat(results).as("reads of %s", bdev.name()).allMatch(IoRunner.Result::ok);
        return buf;
    }

    /** Blocks of {@code buf} (block {@code first} onwards) that do not hold {@code generation}'s pattern, as "lba:verdict". */
    static List<String> badBlocks(MemorySegment buf, long first, int count, long generation) {
        BlockPattern p = new BlockPattern();
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            BlockPattern.Verdict v = p.verify(buf, (long) i * BS, BS, first + i, generation);
            if (v != BlockPattern.Verdict.OK) {
                bad.add((first + i) + ":" + v);
            }
        }
        return bad;
    }

    /** Reads a range of {@code bdev} and asserts it holds {@code generation}'s pattern throughout. */
    static void assertHolds(Engine engine, Bdev bdev, long first, int count, long generation) {
        try (Arena a = Arena.ofShared()) {
            MemorySegment got = read(engine.reactors().get(0), bdev, first, count, 8, a);
            assertThat(badBlocks(got, first, count, generation)).as("blocks of %s", bdev.name()).isEmpty();
        }
    }

    static ChildInfo child(NexusInfo n, String uri) {
        return n.children().stream().filter(c -> c.uri().equals(uri)).findFirst()
                .orElseThrow(() -> new AssertionError("nexus " + n.name() + " has no child " + uri + ": " + n));
    }
}
