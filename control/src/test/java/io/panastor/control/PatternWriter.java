package io.panastor.control;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.BlockPattern;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The writer and checker of {@code e2e/partition.sh}: writes a volume through Panastor's own
 * NVMe/TCP initiator and says which writes were acknowledged, then judges what reads back
 * against every writer's record. {@code bench --verify} checks its own run only and keeps no
 * record of which IO was acknowledged, so it cannot tell a write lost after a failover from
 * one never acknowledged.
 * <pre>
 * write URI --region OFFSET:BYTES --gen G [--io BYTES] [--step BYTES] [--qd N] [--rate IOPS] [--stop-file F]
 *       [--drain SECONDS]
 *     writes the region once, in order, an IO every --step bytes (--io: all of it), as
 *     BlockPattern blocks of generation G, at most --qd at a time and --rate a second, and
 *     prints a line per IO: "sent OFF LEN G MS" when it goes out, then "ack ..." or
 *     "fail ... WHY" when it ends, or "unanswered ..." if it is still out at exit
 *     (OFF, LEN in bytes; MS the wall clock). Stops early when the stop file appears, or once an
 *     IO cannot even be started (the initiator gave the controller up and its bdev is gone).
 * check URI --region OFFSET:BYTES [--region ...] --log FILE [--log ...] [--io BYTES] [--reads N]
 *     reads each region N times IO by IO (a nexus sends consecutive reads to its children in
 *     turn, so N at least the replica count reads every replica) and judges each block by the
 *     logs: a block some write of which was acknowledged holds that generation or a later one
 *     that was sent; a block never acknowledged holds zeroes or a generation that was sent; all
 *     N reads agree; nothing is torn or misplaced. Exit 0 when every block passes, 1 if not.
 * </pre>
 * Every IO runs on the initiator's one reactor; this thread only submits and waits.
 */
public final class PatternWriter {
    private static final long NEVER = 0;

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            usage("give a mode and a URI");
        }
        Map<String, List<String>> o = options(args, 2);
        int code;
        Engine engine = Engine.start(io.panastor.reactor.Reactors.builder().count(1).pin(false));
        try {
            String bdev = Engine.await(engine.createBdev(args[1])).name();
            code = switch (args[0]) {
                case "write" -> write(engine, bdev, o);
                case "check" -> check(engine, bdev, o);
                default -> usage("no mode " + args[0]);
            };
        } catch (RuntimeException e) {
            System.out.println("error " + e);
            code = 2;
        }
        System.out.flush();
        // A write still out (a nexus that never answers) would hold the engine's close: leave without it.
        Runtime.getRuntime().halt(code);
    }

    // ------------------------------------------------------------------ write

    private static int write(Engine engine, String bdev, Map<String, List<String>> o) throws Exception {
        long[] region = region(one(o, "--region", null));
        long gen = Long.parseLong(one(o, "--gen", null));
        require(gen > NEVER, "--gen must be above " + NEVER + " (what a block no write acknowledged counts as)");
        int io = Integer.parseInt(one(o, "--io", "4096"));
        long step = Long.parseLong(one(o, "--step", "" + io));
        int qd = Integer.parseInt(one(o, "--qd", "4"));
        double rate = Double.parseDouble(one(o, "--rate", "0"));
        String stopFile = one(o, "--stop-file", "");
        long drainMs = TimeUnit.SECONDS.toMillis(Long.parseLong(one(o, "--drain", "30")));
        int bs = engine.bdevs().get(bdev).blockSize();
        require(io % bs == 0 && step >= io && step % bs == 0 && region[0] % bs == 0, "--io, --step and the region's "
                + "offset must be multiples of the block size " + bs + ", --step at least --io");
        PrintStream out = System.out;
        Semaphore slots = new Semaphore(qd);
        Map<Long, Long> outstanding = new ConcurrentHashMap<>();
        int[] counts = new int[2];  // acknowledged, failed; guarded by out
        java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
        BlockPattern pattern = new BlockPattern();
        Arena arena = Arena.ofShared();     // every write's buffer, until the process ends
        long start = System.nanoTime();
        long n = 0;
        for (long off = region[0]; off + io <= region[0] + region[1]; off += step, n++) {
            boolean slot;
            while (!(slot = slots.tryAcquire(100, TimeUnit.MILLISECONDS)) && !stopped(stopFile)) {
                // a slot frees when an IO ends; a nexus that does not answer holds them all
            }
            if (!slot || stopped(stopFile) || gone.get()) {
                break;
            }
            if (rate > 0) {
                long due = start + (long) (n * 1e9 / rate);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
            }
            MemorySegment buf = arena.allocate(io, 4096);
            pattern.fill(buf, 0, bs, off / bs, io / bs, gen);
            long at = off;
            synchronized (out) {
                out.println("sent " + at + " " + io + " " + gen + " " + System.currentTimeMillis());
            }
            outstanding.put(at, gen);
            engine.write(bdev, off / bs, io / bs, buf).whenComplete((r, e) -> {
                synchronized (out) {
                    // Recorded before the slot is given back: a line says the IO ended before another goes out.
                    if (outstanding.remove(at) != null) {
                        boolean ok = e == null && r.ok();
                        out.println((ok ? "ack " : "fail ") + at + " " + io + " " + gen + " "
                                + System.currentTimeMillis()
                                + (ok ? "" : " " + (e != null ? e.getMessage() : r.toString()).replace('\n', ' ')));
                        counts[ok ? 0 : 1]++;
                        out.flush();
                        if (e != null) {
                            gone.set(true);
                        }
                    }
                }
                slots.release();
            });
        }
        long drainEnd = System.currentTimeMillis() + drainMs;
        while (!outstanding.isEmpty() && System.currentTimeMillis() < drainEnd) {
            Thread.sleep(100);
        }
        synchronized (out) {
            for (long at : new TreeSet<>(outstanding.keySet())) {
                Long g = outstanding.remove(at);
                if (g != null) {
                    out.println("unanswered " + at + " " + io + " " + g + " " + System.currentTimeMillis());
                }
            }
            out.println("summary acknowledged=" + counts[0] + " failed=" + counts[1]
                    + (gone.get() ? " (stopped: the bdev is gone)" : ""));
            out.flush();
        }
        return 0;
    }

    private static boolean stopped(String stopFile) {
        return !stopFile.isEmpty() && Files.exists(Path.of(stopFile));
    }

    // ------------------------------------------------------------------ check

    /** What the logs say of one block: the newest generation acknowledged (NEVER: none) and every one sent. */
    private static final class Expected {
        long acked = NEVER;
        final Set<Long> sent = new TreeSet<>();
    }

    private static int check(Engine engine, String bdev, Map<String, List<String>> o) throws IOException {
        int io = Integer.parseInt(one(o, "--io", "65536"));
        int reads = Integer.parseInt(one(o, "--reads", "3"));
        int bs = engine.bdevs().get(bdev).blockSize();
        Map<Long, Expected> expected = new HashMap<>();
        for (String log : o.getOrDefault("--log", List.of())) {
            for (String line : Files.readAllLines(Path.of(log))) {
                String[] f = line.split(" ");
                if (f.length < 5 || !(f[0].equals("sent") || f[0].equals("ack"))) {
                    continue;
                }
                long off = Long.parseLong(f[1]);
                long len = Long.parseLong(f[2]);
                long gen = Long.parseLong(f[3]);
                for (long b = off / bs; b < (off + len) / bs; b++) {
                    Expected x = expected.computeIfAbsent(b, k -> new Expected());
                    x.sent.add(gen);
                    if (f[0].equals("ack")) {
                        x.acked = Math.max(x.acked, gen);
                    }
                }
            }
        }
        BlockPattern pattern = new BlockPattern();
        Map<String, Long> tally = new java.util.TreeMap<>();
        List<String> wrong = new ArrayList<>();
        long bad = 0;
        try (Arena arena = Arena.ofShared()) {     // the reactor reads into it
            MemorySegment[] got = new MemorySegment[reads];
            for (int k = 0; k < reads; k++) {
                got[k] = arena.allocate(io, 4096);
            }
            for (String spec : o.get("--region")) {
                long[] region = region(spec);
                require(region[0] % io == 0 && region[1] % io == 0, "--region " + spec + " is not in units of --io "
                        + io);
                for (long off = region[0]; off < region[0] + region[1]; off += io) {
                    String failed = null;
                    for (int k = 0; k < reads && failed == null; k++) {
                        Engine.IoResult r = Engine.await(engine.read(bdev, off / bs, io / bs, got[k]));
                        failed = r.ok() ? null : r.toString();
                    }
                    if (failed != null) {
                        wrong.add("read at byte " + off + " failed: " + failed);
                        bad += io / bs;
                        continue;
                    }
                    for (int blk = 0; blk < io / bs; blk++) {
                        long lba = off / bs + blk;
                        long base = (long) blk * bs;
                        String differs = null;
                        for (int k = 1; k < reads && differs == null; k++) {
                            if (got[k].asSlice(base, bs).mismatch(got[0].asSlice(base, bs)) != -1) {
                                differs = "read " + (k + 1) + " differs from read 1: the replicas disagree";
                            }
                        }
                        BlockPattern.Verdict v = pattern.verify(got[0], base, bs, lba, Long.MAX_VALUE);
                        Expected x = expected.getOrDefault(lba, new Expected());
                        // Intact and of this LBA, a block is STALE against generation MAX_VALUE: read its own.
                        long g = v == BlockPattern.Verdict.STALE ? BlockPattern.generationOf(got[0], base) : NEVER;
                        String kind = null;
                        String problem = null;
                        if (v == BlockPattern.Verdict.CORRUPT || v == BlockPattern.Verdict.MISPLACED) {
                            problem = "the block is " + v;
                        } else if (v == BlockPattern.Verdict.ZERO) {
                            problem = x.acked == NEVER ? null
                                    : "generation " + x.acked + " was acknowledged, the block reads zeroes";
                            kind = x.sent.isEmpty() ? "zero, never written" : "zero, write not acknowledged";
                        } else if (!x.sent.contains(g)) {
                            problem = "holds generation " + g + ", which no writer sent here";
                        } else if (g < x.acked) {
                            problem = "holds generation " + g + " but " + x.acked + " was acknowledged";
                        } else {
                            kind = "generation " + g + (g == x.acked ? ", acknowledged" : ", write not acknowledged");
                        }
                        String why = differs != null ? differs : problem;
                        if (why != null) {
                            bad++;
                            kind = "FAILED";
                            if (wrong.size() < 20) {
                                wrong.add("block " + lba + " (byte " + lba * bs + "): " + why + "; acknowledged "
                                        + (x.acked == NEVER ? "none" : x.acked) + ", sent " + x.sent);
                            }
                        }
                        tally.merge(kind, 1L, Long::sum);
                    }
                }
            }
        }
        for (Map.Entry<String, Long> e : tally.entrySet()) {
            System.out.println("blocks " + e.getValue() + " " + e.getKey());
        }
        wrong.forEach(w -> System.out.println("wrong " + w));
        System.out.println(bad == 0 ? "check passed" : "check FAILED: " + bad + " block(s)");
        return bad == 0 ? 0 : 1;
    }

    // ------------------------------------------------------------------ arguments

    private static long[] region(String spec) {
        String[] f = spec.split(":");
        require(f.length == 2, "--region is OFFSET:BYTES, got " + spec);
        return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
    }

    private static Map<String, List<String>> options(String[] args, int from) {
        Map<String, List<String>> o = new HashMap<>();
        for (int i = from; i < args.length; i += 2) {
            require(args[i].startsWith("--") && i + 1 < args.length, "options are --NAME VALUE, got " + args[i]);
            o.computeIfAbsent(args[i], k -> new ArrayList<>()).add(args[i + 1]);
        }
        return o;
    }

    private static String one(Map<String, List<String>> o, String name, String dflt) {
        List<String> v = o.get(name);
        if (v == null) {
            require(dflt != null, name + " is required");
            return dflt;
        }
        return v.getLast();
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            usage(what);
        }
    }

    private static int usage(String what) {
        System.err.println("PatternWriter: " + what
                + "\nusage: write URI --region OFF:BYTES --gen G [--io B] [--step B] [--qd N] [--rate IOPS] [--stop-file F]"
                + " [--drain S]\n       check URI --region OFF:BYTES... --log FILE... [--io B] [--reads N]");
        System.exit(2);
        return 2;
    }
}
