package io.panastor.engine.lvs;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.error.EngineException;
import io.panastor.reactor.Reactor;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** Helpers the lvs tests share: sparse files, per-block patterns, IO, and a random workload in {@link LvsModel}'s op language. */
final class LvsTestSupport {
    static final long MiB = 1L << 20;
    static final int BS = 4096;

    private LvsTestSupport() {
    }

    static Path sparse(Path p, long bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    static String uri(Path file) {
        return "uring://" + file + "?blk_size=4096";
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Fills block {@code block} of {@code s} with the pattern of {@code seed} (seed 0: zeroes). */
    static void fill(MemorySegment s, long block, long seed) {
        long base = block * BS;
        if (seed == 0) {
            s.asSlice(base, BS).fill((byte) 0);
            return;
        }
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (long i = 0; i < BS; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, base + i, x);
        }
    }

    /** Whether block {@code block} of {@code s} holds the pattern of {@code seed}. */
    static boolean holds(MemorySegment s, long block, long seed, MemorySegment scratch) {
        fill(scratch, 0, seed);
        return MemorySegment.mismatch(s, block * BS, block * BS + BS, scratch, 0, BS) == -1;
    }

    /** Writes {@code blocks} blocks at {@code lba}, block i with the pattern of {@code seed + i}. */
    static int write(Engine engine, Arena arena, String bdev, long lba, int blocks, long seed) {
        MemorySegment s = arena.allocate((long) blocks * BS, BS);
        for (int i = 0; i < blocks; i++) {
            fill(s, i, seed + i);
        }
        return engine.write(bdev, lba, blocks, s).join().status();
    }

    static MemorySegment read(Engine engine, Arena arena, String bdev, long lba, int blocks) {
        MemorySegment s = arena.allocate((long) blocks * BS, BS);
        assertThat(IoStatus.name(engine.read(bdev, lba, blocks, s).join().status())).isEqualTo("SUCCESS");
        return s;
    }

    /** Reads {@code blocks} blocks at {@code lba} into the start of {@code into}. */
    static void readInto(Engine engine, String bdev, long lba, int blocks, MemorySegment into) {
        int st = engine.read(bdev, lba, blocks, into.asSlice(0, (long) blocks * BS)).join().status();
        assertThat(IoStatus.name(st)).as("read of " + bdev + " at " + lba).isEqualTo("SUCCESS");
    }

    static int unmap(Engine engine, String bdev, long lba, long blocks) {
        Bdev b = engine.bdevs().get(bdev);
        Reactor r = engine.reactors().get(0);
        CompletableFuture<Integer> f = new CompletableFuture<>();
        r.execute(() -> {
            var ch = b.channel(r);
            var io = ch.allocIo();
            ch.submit(io.prepareUnmap(lba, blocks, done -> {
                f.complete(done.status());
                done.release();
            }));
        });
        return f.join();
    }

    static EngineException.Reason reasonOf(Throwable t) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        return c instanceof EngineException e ? e.reason() : null;
    }

    // ------------------------------------------------------------------ a random workload

    /**
     * The next op for pool {@code pool} as {@code engine} has it now, in {@link LvsModel}'s
     * language: mostly data writes and flushes, some creates, destroys, resizes and unmaps.
     */
    static String nextOp(Random rnd, Engine engine, String pool, int[] counter) {
        List<ReplicaInfo> reps = new ArrayList<>();
        for (ReplicaInfo r : engine.listReplicas()) {
            if (r.pool().equals(pool)) {
                reps.add(r);
            }
        }
        PoolInfo p = engine.pool(pool).orElseThrow();
        int c = counter[0]++;
        int pick = rnd.nextInt(100);
        if (reps.isEmpty() || pick < 8 && reps.size() < 8) {
            boolean thin = rnd.nextInt(3) > 0;
            long size = thin ? (1 + rnd.nextInt(8)) * p.clusterSize() - rnd.nextInt(4) * BS
                    : (1 + rnd.nextInt(3)) * p.clusterSize() - rnd.nextInt(2) * BS;
            return "create r" + c + " " + UUID.randomUUID() + " " + size + " " + (thin ? "thin" : "thick");
        }
        ReplicaInfo r = reps.get(rnd.nextInt(reps.size()));
        long blocks = r.sizeBytes() / BS;
        long bpc = p.clusterSize() / BS;
        if (pick < 13) {
            return "destroy " + r.name();
        }
        if (pick < 18) {
            return "resize " + r.name() + " " + (r.sizeBytes() + (1 + rnd.nextInt(2)) * p.clusterSize() / 2);
        }
        if (pick < 26 && r.thin() && blocks >= bpc) {
            // whole clusters only: a partial trim zeroes blocks (data, durable at a flush), it frees nothing
            return "unmap " + r.name() + " " + rnd.nextInt((int) (blocks / bpc));
        }
        if (pick < 45) {
            return "flush " + r.name();
        }
        long lba = rnd.nextLong(blocks);
        // within one cluster, so that an allocation is all or nothing
        int n = (int) Math.min(1 + rnd.nextInt(8), Math.min(blocks - lba, bpc - lba % bpc));
        if (lba % bpc + n > bpc || n < 1) {
            n = 1;
        }
        return "write " + r.name() + " " + lba + " " + n + " " + (1L + c * 16L + ((long) rnd.nextInt(1 << 20) << 32));
    }

    /** Runs {@code op} on {@code engine}: whether it succeeded; NO_SPACE is a failure, other errors are thrown. */
    static boolean run(Engine engine, Arena arena, String pool, String op) {
        String[] t = op.split(" ");
        try {
            switch (t[0]) {
                case "create" -> engine.createReplica(pool, t[1], UUID.fromString(t[2]), Long.parseLong(t[3]),
                        t[4].equals("thin"), null).join();
                case "destroy" -> engine.destroyReplica(t[1]).join();
                case "resize" -> engine.resizeReplica(t[1], Long.parseLong(t[2])).join();
                case "flush" -> {
                    return ioOk(engine.flush(t[1]).join().status(), op);
                }
                case "unmap" -> {
                    long bpc = engine.pool(pool).orElseThrow().clusterSize() / BS;
                    return ioOk(unmap(engine, t[1], Long.parseLong(t[2]) * bpc, bpc), op);
                }
                case "write" -> {
                    return ioOk(write(engine, arena, t[1], Long.parseLong(t[2]), Integer.parseInt(t[3]),
                            Long.parseLong(t[4])), op);
                }
                default -> throw new IllegalArgumentException(op);
            }
            return true;
        } catch (CompletionException e) {
            if (reasonOf(e) == EngineException.Reason.NO_SPACE) {
                return false;
            }
            throw new IllegalStateException(op + " failed: " + e.getCause(), e.getCause());
        }
    }

    private static boolean ioOk(int status, String op) {
        if (status == IoStatus.SUCCESS) {
            return true;
        }
        if (status == IoStatus.NO_SPACE) {
            return false;
        }
        throw new IllegalStateException(op + " ended " + IoStatus.name(status));
    }
}
