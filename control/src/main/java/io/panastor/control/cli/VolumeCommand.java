package io.panastor.control.cli;

import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.panastor.api.cli.Sizes;
import io.panastor.api.client.CommandGroup;
import io.panastor.api.client.Table;
import io.panastor.api.control.v1.CreateVolumeRequest;
import io.panastor.api.control.v1.GetRequest;
import io.panastor.api.control.v1.ListRequest;
import io.panastor.api.control.v1.ListVolumesResponse;
import io.panastor.api.control.v1.PublishVolumeRequest;
import io.panastor.api.control.v1.ResizeVolumeRequest;
import io.panastor.api.control.v1.ScaleVolumeRequest;
import io.panastor.api.control.v1.Volume;
import io.panastor.api.control.v1.VolumeReplica;
import io.panastor.api.control.v1.VolumesGrpc;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code panastor volume ...}: volumes through the control plane. */
@Command(name = "volume", mixinStandardHelpOptions = true,
        description = "Volumes: replicas on pools of distinct nodes, published through a nexus",
        subcommands = {VolumeCommand.Create.class, VolumeCommand.ListVolumes.class, VolumeCommand.Get.class,
                VolumeCommand.Publish.class, VolumeCommand.Unpublish.class, VolumeCommand.Resize.class,
                VolumeCommand.Scale.class, VolumeCommand.Destroy.class, VolumeCommand.Bench.class})
public final class VolumeCommand extends CommandGroup {
    static VolumesGrpc.VolumesBlockingStub stub(ManagedChannel ch, Deadline d) {
        return VolumesGrpc.newBlockingStub(ch).withDeadline(d);
    }

    static void table(ControlClientCommand c, List<Volume> volumes) {
        Table t = new Table("NAME", "STATUS", "SIZE", "REPLICAS", "THIN", "TARGET", "URI", "OPERATION", "UUID");
        for (Volume v : volumes) {
            t.row(v.getSpec().getName(), ControlClientCommand.lower(v.getState().getStatus(), "VOLUME_"),
                    Sizes.format(v.getSpec().getSize()), v.getSpec().getReplicas(), v.getSpec().getThin() ? "yes" : "no",
                    v.getState().getTargetNode().isEmpty() ? "-" : v.getState().getTargetNode(),
                    v.getState().getUri().isEmpty() ? "-" : v.getState().getUri(),
                    v.getState().getOperation().isEmpty() ? "-" : v.getState().getOperation(), v.getSpec().getUuid());
        }
        t.print(c.out());
    }

    static void detail(ControlClientCommand c, Volume v) {
        table(c, List.of(v));
        Table t = new Table("  REPLICA", "NODE", "POOL", "STATE", "REBUILD");
        for (VolumeReplica r : v.getState().getReplicasList()) {
            t.row("  " + r.getUuid(), r.getNode(), r.getPool(), r.getState(),
                    r.getRebuildProgress() < 0 ? "-" : r.getRebuildProgress() + "%");
        }
        t.print(c.out());
        if (v.getEventsCount() > 0) {
            // As kubectl describe shows them: what the control plane did, oldest first.
            Table e = new Table("  EVENT", "TYPE", "REASON", "COUNT", "MESSAGE");
            for (io.panastor.api.control.v1.Event ev : v.getEventsList()) {
                e.row("  " + java.time.Instant.ofEpochMilli(ev.getTimeMs()).truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
                        ev.getType(), ev.getReason(), ev.getCount(), ev.getMessage());
            }
            e.print(c.out());
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Make a volume: its replicas on pools of distinct nodes (most free space first)")
    static final class Create extends ControlClientCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--size", required = true, paramLabel = "SIZE", converter = Sizes.Converter.class)
        long size;

        @Option(names = "--replicas", paramLabel = "N", defaultValue = "1", description = "Default: ${DEFAULT-VALUE}")
        int replicas;

        @Option(names = "--thin", description = "Thin replicas: space is taken as it is written")
        boolean thin;

        @Option(names = "--uuid", paramLabel = "UUID", description = "Default: a new random one")
        String uuid = "";

        @Option(names = "--node-selector", paramLabel = "KEY=VALUE", description = "Only nodes with these labels")
        Map<String, String> nodeSelector = Map.of();

        @Option(names = "--pool-selector", paramLabel = "KEY=VALUE", description = "Only pools with these labels")
        Map<String, String> poolSelector = Map.of();

        @Option(names = "--preferred-nodes", paramLabel = "NODE", split = ",",
                description = "Replicas on these nodes first, when they qualify")
        List<String> preferred = List.of();

        @Option(names = "--required-nodes", paramLabel = "NODE", split = ",",
                description = "Replicas on these nodes only")
        List<String> required = List.of();

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Volume v = stub(ch, d).createVolume(CreateVolumeRequest.newBuilder().setName(name).setUuid(uuid).setSize(size)
                    .setReplicas(replicas).setThin(thin).putAllNodeSelector(nodeSelector)
                    .putAllPoolSelector(poolSelector).addAllPreferredNodes(preferred).addAllRequiredNodes(required).build());
            print(v, () -> detail(this, v));
            return 0;
        }
    }

    static List<Volume> listAll(ManagedChannel ch, Deadline d) {
        List<Volume> all = new ArrayList<>();
        String token = "";
        do {
            ListVolumesResponse r = stub(ch, d).listVolumes(ListRequest.newBuilder().setPageSize(200).setPageToken(token)
                    .build());
            all.addAll(r.getVolumesList());
            token = r.getNextPageToken();
        } while (!token.isEmpty());
        return all;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the volumes, with their status")
    static final class ListVolumes extends ControlClientCommand {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListVolumesResponse r = ListVolumesResponse.newBuilder().addAllVolumes(listAll(ch, d)).build();
            print(r, () -> table(this, r.getVolumesList()));
            return 0;
        }
    }

    /** A command on one volume by name (or UUID). */
    abstract static class OnVolume extends ControlClientCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        GetRequest request() {
            return GetRequest.newBuilder().setName(name).build();
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true,
            description = "Show a volume, its replicas, and what the control plane did to it (its events)")
    static final class Get extends OnVolume {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            Volume v = stub(ch, d).getVolume(request());
            print(v, () -> detail(this, v));
            return 0;
        }
    }

    @Command(name = "publish", mixinStandardHelpOptions = true,
            description = "Make the volume's nexus on a node and share it over NVMe/TCP; prints its nvmf:// URI")
    static final class Publish extends OnVolume {
        @Option(names = "--node", paramLabel = "NODE",
                description = "Where (used when it holds a healthy replica). Default: the node with the fewest nexuses")
        String node = "";

        @Option(names = "--allowed-host", paramLabel = "NQN", description = "Host NQNs that may connect. Default: any")
        List<String> hosts = List.of();

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Volume v = stub(ch, d).publishVolume(PublishVolumeRequest.newBuilder().setName(name).setNode(node)
                    .addAllAllowedHosts(hosts).build());
            print(v, () -> {
                out().println(v.getState().getUri());
                out().flush();
            });
            return 0;
        }
    }

    @Command(name = "unpublish", mixinStandardHelpOptions = true, description = "Take the volume's nexus down")
    static final class Unpublish extends OnVolume {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            Volume v = stub(ch, d).unpublishVolume(request());
            print(v, () -> table(this, List.of(v)));
            return 0;
        }
    }

    @Command(name = "resize", mixinStandardHelpOptions = true, description = "Grow the volume: its replicas, then its nexus")
    static final class Resize extends OnVolume {
        @Parameters(index = "1", paramLabel = "SIZE", converter = Sizes.Converter.class)
        long size;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Volume v = stub(ch, d).resizeVolume(ResizeVolumeRequest.newBuilder().setName(name).setSize(size).build());
            print(v, () -> table(this, List.of(v)));
            return 0;
        }
    }

    @Command(name = "scale", mixinStandardHelpOptions = true,
            description = "Set the replica count: a new replica is rebuilt from the others; one is removed")
    static final class Scale extends OnVolume {
        @Parameters(index = "1", paramLabel = "N")
        int replicas;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Volume v = stub(ch, d).scaleVolume(ScaleVolumeRequest.newBuilder().setName(name).setReplicas(replicas).build());
            print(v, () -> detail(this, v));
            return 0;
        }
    }

    @Command(name = "destroy", mixinStandardHelpOptions = true, description = "Destroy the volume: nexus, replicas, records")
    static final class Destroy extends OnVolume {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            stub(ch, d).destroyVolume(request());
            if (options.output == ControlOptions.Format.table) {
                out().println("destroyed volume " + name);
                out().flush();
            } else {
                print(com.google.protobuf.Empty.getDefaultInstance(), () -> { });
            }
            return 0;
        }
    }

    @Command(name = "bench", mixinStandardHelpOptions = true,
            description = {"Time create + publish of volumes, one after another, then destroy them:",
                    "p50, p99 and max of each, in milliseconds (stdout); progress on stderr.",
                    "--warmup volumes come first and are not counted."})
    static final class Bench extends ControlClientCommand {
        @Option(names = "--volumes", paramLabel = "N", defaultValue = "50", description = "Default: ${DEFAULT-VALUE}")
        int volumes;

        @Option(names = "--replicas", paramLabel = "N", defaultValue = "2", description = "Default: ${DEFAULT-VALUE}")
        int replicas;

        @Option(names = "--size", paramLabel = "SIZE", defaultValue = "64MiB", converter = Sizes.Converter.class,
                description = "Default: 64MiB")
        long size;

        @Option(names = "--thin", description = "Thin replicas")
        boolean thin;

        @Option(names = "--warmup", paramLabel = "N", defaultValue = "1",
                description = "Volumes made, published and destroyed first, not counted (connections, JIT). "
                        + "Default: ${DEFAULT-VALUE}")
        int warmup;

        @Option(names = "--publish", paramLabel = "N",
                description = "Publish only the first N volumes (the others are created alone). Default: all")
        Integer publishFirst;

        @Option(names = "--unpublish", description = "Unpublish each published volume, timed, before its destroy")
        boolean unpublish;

        @Option(names = "--keep", description = "Leave the volumes made (not the warm-up ones) instead of destroying "
                + "them: a control plane holding many, for measuring it")
        boolean keep;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            String warm = "bench-warmup-" + Long.toHexString(System.nanoTime() & 0xffffff) + "-";
            for (int i = 0; i < warmup; i++) {
                stub(ch, d).createVolume(CreateVolumeRequest.newBuilder().setName(warm + i).setSize(size)
                        .setReplicas(replicas).setThin(thin).build());
                try {
                    stub(ch, d).publishVolume(PublishVolumeRequest.newBuilder().setName(warm + i).build());
                } finally {
                    stub(ch, d).destroyVolume(GetRequest.newBuilder().setName(warm + i).build());
                }
            }
            Histogram create = new Histogram(3);
            Histogram publish = new Histogram(3);
            Histogram both = new Histogram(3);
            Histogram unpublished = new Histogram(3);
            Histogram destroy = new Histogram(3);
            String prefix = "bench-" + Long.toHexString(System.nanoTime() & 0xffffff) + "-";
            int published = publishFirst == null ? volumes : Math.min(publishFirst, volumes);
            List<String> made = new ArrayList<>();
            boolean done = false;
            try {
                for (int i = 0; i < volumes; i++) {
                    String name = prefix + i;
                    long t0 = System.nanoTime();
                    stub(ch, d).createVolume(CreateVolumeRequest.newBuilder().setName(name).setSize(size)
                            .setReplicas(replicas).setThin(thin).build());
                    made.add(name);
                    long t1 = System.nanoTime();
                    create.recordValue(TimeUnit.NANOSECONDS.toMicros(t1 - t0));
                    if (i >= published) {
                        spec.commandLine().getErr().printf("volume %d/%d: create %.1f ms%n", i + 1, volumes,
                                (t1 - t0) / 1e6);
                        continue;
                    }
                    stub(ch, d).publishVolume(PublishVolumeRequest.newBuilder().setName(name).build());
                    long t2 = System.nanoTime();
                    publish.recordValue(TimeUnit.NANOSECONDS.toMicros(t2 - t1));
                    both.recordValue(TimeUnit.NANOSECONDS.toMicros(t2 - t0));
                    spec.commandLine().getErr().printf("volume %d/%d: create+publish %.1f ms%n", i + 1, volumes,
                            (t2 - t0) / 1e6);
                }
                done = true;
            } finally {
                // Kept only when all were made: a bench that failed half way cleans up after itself.
                for (int i = 0; i < made.size() && !(keep && done); i++) {
                    GetRequest name = GetRequest.newBuilder().setName(made.get(i)).build();
                    long t0 = System.nanoTime();
                    if (unpublish && i < published) {
                        stub(ch, Deadline.after(120, TimeUnit.SECONDS)).unpublishVolume(name);
                        long t1 = System.nanoTime();
                        unpublished.recordValue(TimeUnit.NANOSECONDS.toMicros(t1 - t0));
                        t0 = t1;
                    }
                    stub(ch, Deadline.after(120, TimeUnit.SECONDS)).destroyVolume(name);
                    destroy.recordValue(TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - t0));
                }
            }
            Table t = new Table("OPERATION", "VOLUMES", "P50_MS", "P99_MS", "MAX_MS");
            List<Map.Entry<String, Histogram>> rows = new ArrayList<>(List.of(Map.entry("create", create),
                    Map.entry("publish", publish), Map.entry("create+publish", both)));
            if (unpublish) {
                rows.add(Map.entry("unpublish", unpublished));
            }
            rows.add(Map.entry("destroy", destroy));
            for (var e : rows) {
                Histogram h = e.getValue();
                t.row(e.getKey(), h.getTotalCount(), ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(99)),
                        ms(h.getMaxValue()));
            }
            t.print(out());
            return 0;
        }

        private static String ms(long micros) {
            return String.format(java.util.Locale.ROOT, "%.1f", micros / 1000.0);
        }
    }
}
