package io.panastor.api.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.api.cli.Panastor;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.natives.Cpu;
import io.panastor.reactor.Reactors;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The engine as an operator runs it, killed with SIGKILL: a pool and replicas made with the
 * CLI, data written through the replica's share by an NVMe/TCP host (this JVM's own
 * initiator), the engine killed — once idle, once with writes in flight — and restarted on
 * the same state directory: the pool, the replicas and the share are back, and every write
 * that a completed flush covered reads back its pattern.
 */
class EngineKillTest {
    static final int BLOCK = 4096;
    static final int BLOCKS = 64;   // per write: 256 KiB
    /** Writes land a cluster apart (1 MiB), so each one allocates a cluster of the thin replica. */
    static final long STRIDE = (1L << 20) / BLOCK;

    @TempDir
    Path dir;
    Engine host;
    Arena arena;
    EngineProcess engine;

    @BeforeEach
    void start() {
        host = Engine.start(Reactors.builder().count(1).pin(false));
        arena = Arena.ofShared();
    }

    @AfterEach
    void stop() {
        if (engine != null) {
            engine.close();
        }
        host.close();
        arena.close();
    }

    String[] args() throws Exception {
        return new String[] {"--grpc", "127.0.0.1:" + EngineProcess.freePort(),
                "--replica-listen", "127.0.0.1:" + EngineProcess.freePort(),
                "--nexus-listen", "127.0.0.1:" + EngineProcess.freePort(), "--metrics", "off",
                "--cores", "[" + Cpu.allowedCpus().getFirst() + "]", "--state-dir", dir.resolve("state").toString()};
    }

    Map<String, String> startEngine() throws Exception {
        engine = EngineProcess.start(dir, args());
        Map<String, String> ready = engine.awaitReady();
        assertThat(ready).as("ready line; stderr: %s", engine.stderr()).isNotNull();
        return ready;
    }

    static String cli(Map<String, String> ready, String... args) {
        CommandLine cmd = Panastor.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--engine";
        all[args.length + 1] = ready.get("grpc");
        int code = cmd.execute(all);
        assertThat(code).as("%s: %s", String.join(" ", args), err).isZero();
        return out.toString().strip();
    }

    MemorySegment pattern(long lba, long seed) {
        MemorySegment s = arena.allocate((long) BLOCKS * BLOCK, BLOCK);
        new BlockPattern().fill(s, 0, BLOCK, lba, BLOCKS, seed);
        return s;
    }

    Bdev connect(String uri) {
        return Engine.await(host.createBdev(uri + "?io_timeout_ms=5000&connect_timeout_ms=5000&ctrlr_loss_timeout_ms=1000"));
    }

    boolean readsBack(Bdev b, long lba, long seed) {
        MemorySegment got = arena.allocate((long) BLOCKS * BLOCK, BLOCK);
        assertThat(Engine.await(host.read(b.name(), lba, BLOCKS, got)).ok()).isTrue();
        return got.mismatch(pattern(lba, seed)) == -1;
    }

    void kill() throws Exception {
        engine.signal("KILL");
        engine.awaitExit();
    }

    @Test
    void killNineLosesNothingThatWasFlushed() throws Exception {
        Path disk = dir.resolve("d0.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(128L << 20);
        }
        Map<String, String> ready = startEngine();
        cli(ready, "pool", "create", "p0", "uring://" + disk + "?blk_size=4096", "--cluster-size", "1MiB");
        cli(ready, "replica", "create", "r0", "--pool", "p0", "--size", "64MiB", "--thin", "--share");
        String uri = cli(ready, "replica", "share", "r0");
        assertThat(uri).startsWith("nvmf://" + ready.get("replicas") + "/nqn.2019-05.io.openebs:");

        // Round 1: written and flushed, then a metadata change, then kill -9 with nothing in flight.
        Bdev b = connect(uri);
        for (int i = 0; i < 8; i++) {
            assertThat(Engine.await(host.write(b.name(), i * STRIDE, BLOCKS, pattern(i * STRIDE, 1))).ok()).isTrue();
        }
        assertThat(Engine.await(host.flush(b.name())).ok()).isTrue();
        cli(ready, "replica", "create", "r1", "--pool", "p0", "--size", "8MiB");
        Engine.await(host.destroyBdev(b.name()));
        kill();

        ready = startEngine();
        assertThat(cli(ready, "replica", "list")).contains("r0").contains("r1");
        String uri2 = cli(ready, "replica", "share", "r0");
        assertThat(uri2).as("shared again, on the new listener").startsWith("nvmf://" + ready.get("replicas") + "/");
        assertThat(uri2.substring(uri2.lastIndexOf('/'))).isEqualTo(uri.substring(uri.lastIndexOf('/')));
        b = connect(uri2);
        for (int i = 0; i < 8; i++) {
            assertThat(readsBack(b, i * STRIDE, 1)).as("write %d after kill -9", i).isTrue();
        }

        // Round 2: a writer writes and flushes in a loop; kill -9 lands while it runs.
        Bdev writing = b;
        AtomicInteger durable = new AtomicInteger(-1);
        CountDownLatch some = new CountDownLatch(4);
        Thread writer = Thread.ofVirtual().start(() -> {
            for (int i = 8; i < 64; i++) {
                long lba = i * STRIDE;
                if (!Engine.await(host.write(writing.name(), lba, BLOCKS, pattern(lba, 2))).ok()
                        || !Engine.await(host.flush(writing.name())).ok()) {
                    return;
                }
                durable.set(i);
                some.countDown();
            }
        });
        assertThat(some.await(EngineProcess.HANG_SECONDS, TimeUnit.SECONDS)).isTrue();
        kill();
        int flushed = durable.get();   // every write up to here had a flush complete after it
        writer.interrupt();
        writer.join(TimeUnit.SECONDS.toMillis(EngineProcess.HANG_SECONDS));
        flushed = Math.max(flushed, durable.get());
        try {
            Engine.await(host.destroyBdev(b.name()));
        } catch (RuntimeException gone) {
            // the controller may already be gone
        }

        ready = startEngine();
        String uri3 = cli(ready, "replica", "list", "r0", "-o", "json");
        assertThat(uri3).contains("\"NVMF\"");
        b = connect(cli(ready, "replica", "share", "r0"));
        for (int i = 0; i < 8; i++) {
            assertThat(readsBack(b, i * STRIDE, 1)).as("round-1 write %d", i).isTrue();
        }
        for (int i = 8; i <= flushed; i++) {
            assertThat(readsBack(b, i * STRIDE, 2)).as("flushed write %d of round 2 (last flushed %d)", i, flushed)
                    .isTrue();
        }
        Engine.await(host.destroyBdev(b.name()));
        cli(ready, "replica", "destroy", "r1");
        cli(ready, "pool", "destroy", "p0", "--force");
        engine.signal("TERM");
        assertThat(engine.awaitExit()).isZero();
    }
}
