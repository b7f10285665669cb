package io.panastor.bench;

import io.panastor.engine.Engine;
import io.panastor.engine.lvs.PoolInfo;
import io.panastor.engine.lvs.PoolSpec;
import io.panastor.reactor.Reactors;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code panastor bench pools}: what pool and replica management costs on a file-backed
 * pool. Creates a pool on {@code --file} (a sparse scratch file, written over), creates
 * {@code --replicas} replicas one after another, exports the pool and imports it again
 * (timing the import, which finds and registers every replica), then destroys them one
 * after another and the pool. Reports the latency of each create and destroy (p50, p99,
 * max) and the import time.
 */
@Command(name = "pools", mixinStandardHelpOptions = true,
        description = "Time replica create and destroy, and pool import, on a scratch file-backed pool.")
final class PoolsBench implements Callable<Integer> {
    @Option(names = "--file", description = "Scratch file for the pool (made sparse; written over). "
            + "Default: ${DEFAULT-VALUE}")
    Path file = Path.of("/var/tmp/panastor-pools-bench.img");

    @Option(names = "--replicas", description = "Replicas to create. Default: ${DEFAULT-VALUE}")
    int replicas = 1000;

    @Option(names = "--replica-size", converter = Sizes.Converter.class,
            description = "Size of each replica. Default: 64 MiB")
    long replicaSize = 64L << 20;

    @Option(names = "--thick", description = "Thick replicas (clusters allocated and zeroed at creation); "
            + "the file must be large enough. Default: thin")
    boolean thick;

    @Option(names = "--cluster-size", converter = Sizes.Converter.class, description = "Default: 4 MiB")
    long clusterSize = PoolSpec.DEFAULT_CLUSTER_SIZE;

    @Option(names = "--file-size", converter = Sizes.Converter.class, description = "Default: 64 GiB (sparse)")
    long fileSize = 64L << 30;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Options.require(spec.commandLine(), replicas >= 1, "--replicas", replicas, "at least 1");
        Files.deleteIfExists(file);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(fileSize);
        }
        String disk = "uring://" + file.toAbsolutePath() + "?blk_size=4096";
        Histogram create = new Histogram(60_000_000_000L, 3);
        Histogram destroy = new Histogram(60_000_000_000L, 3);
        long importNanos;
        try (Engine engine = Engine.start(Reactors.builder().count(1))) {
            Engine.await(engine.createPool(new PoolSpec("bench-pools", null, disk, clusterSize, true)));
            List<String> names = new ArrayList<>();
            for (int i = 0; i < replicas; i++) {
                String name = "r" + i;
                long t0 = System.nanoTime();
                Engine.await(engine.createReplica("bench-pools", name, null, replicaSize, !thick, "entity-" + i));
                create.recordValue(System.nanoTime() - t0);
                names.add(name);
            }
            Engine.await(engine.exportPool("bench-pools"));
            long t0 = System.nanoTime();
            PoolInfo p = Engine.await(engine.importPool("bench-pools", null, disk));
            importNanos = System.nanoTime() - t0;
            if (p.replicas() != replicas || engine.listReplicas().size() != replicas) {
                System.err.println("bench pools: the import found " + p.replicas() + " replicas, not " + replicas);
                return 1;
            }
            for (String name : names) {
                long t1 = System.nanoTime();
                Engine.await(engine.destroyReplica(name));
                destroy.recordValue(System.nanoTime() - t1);
            }
            Engine.await(engine.destroyPool("bench-pools", false));
        } finally {
            Files.deleteIfExists(file);
        }
        System.out.printf("%d %s replicas of %s on a %s-cluster pool over %s%n", replicas, thick ? "thick" : "thin",
                Sizes.format(replicaSize), Sizes.format(clusterSize), file);
        System.out.printf("%-16s %10s %10s %10s%n", "operation", "p50 ms", "p99 ms", "max ms");
        row("replica create", create);
        row("replica destroy", destroy);
        System.out.printf("%-16s %10.1f ms for %d replicas%n", "pool import", importNanos / 1e6, replicas);
        return 0;
    }

    private static void row(String what, Histogram h) {
        System.out.printf("%-16s %10.2f %10.2f %10.2f%n", what, h.getValueAtPercentile(50) / 1e6,
                h.getValueAtPercentile(99) / 1e6, h.getMaxValue() / 1e6);
    }
}
