package io.panastor.api.client;

import com.google.protobuf.StringValue;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.panastor.api.cli.Sizes;
import io.panastor.api.v1.CreateReplicaRequest;
import io.panastor.api.v1.DestroyReplicaRequest;
import io.panastor.api.v1.ListReplicaOptions;
import io.panastor.api.v1.ListReplicasResponse;
import io.panastor.api.v1.Replica;
import io.panastor.api.v1.ReplicaRpcGrpc;
import io.panastor.api.v1.ResizeReplicaRequest;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.api.v1.ShareReplicaRequest;
import io.panastor.api.v1.UnshareReplicaRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code panastor replica ...}: the ReplicaRpc service from a shell; replicas by name or UUID. */
@Command(name = "replica", mixinStandardHelpOptions = true,
        description = "Create, list, share, resize and destroy replicas in a running engine's pools.",
        subcommands = {ReplicaCommand.Create.class, ReplicaCommand.ListReplicas.class, ReplicaCommand.Share.class,
                ReplicaCommand.Unshare.class, ReplicaCommand.Resize.class, ReplicaCommand.Destroy.class})
public final class ReplicaCommand extends CommandGroup {
    static ReplicaRpcGrpc.ReplicaRpcBlockingStub stub(ManagedChannel ch, Deadline d) {
        return ReplicaRpcGrpc.newBlockingStub(ch).withDeadline(d);
    }

    static void table(ClientCommand c, List<Replica> replicas) {
        Table t = new Table("NAME", "POOL", "SIZE", "ALLOCATED", "THIN", "SHARE URI", "UUID");
        for (Replica r : replicas) {
            t.row(r.getName(), r.getPoolname(), Sizes.format(r.getSize()), Sizes.format(r.getUsage().getAllocatedBytes()),
                    r.getThin(), r.getShare() == ShareProtocol.NVMF ? r.getUri() : "", r.getUuid());
        }
        t.print(c.out());
    }

    static void show(ClientCommand c, Replica r) {
        c.print(r, () -> table(c, List.of(r)));
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a replica in a pool; with --share, export it over NVMe/TCP too.",
                    "The same replica again is no error; a different one under its name or UUID is."})
    static final class Create extends ClientCommand {
        @Parameters(paramLabel = "NAME", description = "The replica's name")
        String name;

        @Option(names = "--pool", required = true, paramLabel = "POOL", description = "The pool (name or UUID)")
        String pool;

        @Option(names = "--size", required = true, paramLabel = "SIZE", converter = Sizes.Converter.class,
                description = "Its size: 64MiB, 10GiB, ...")
        long size;

        @Option(names = "--thin", description = "Allocate clusters on first write (else all at creation)")
        boolean thin;

        @Option(names = "--uuid", paramLabel = "UUID", description = "Its UUID. Default: a new one")
        String uuid;

        @Option(names = "--share", description = "Share it over NVMe/TCP on the replica listener")
        boolean share;

        @Option(names = "--allow-host", paramLabel = "NQN", description = "With --share: a host NQN allowed to connect (repeatable). Default: any host")
        List<String> hosts = new ArrayList<>();

        @Option(names = "--entity-id", paramLabel = "ID", description = "Its owner's id (a volume's UUID)")
        String entityId;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            CreateReplicaRequest.Builder r = CreateReplicaRequest.newBuilder().setName(name).setPooluuid(pool)
                    .setSize(size).setThin(thin).setUuid(uuid != null ? uuid : UUID.randomUUID().toString())
                    .setShare(share ? ShareProtocol.NVMF : ShareProtocol.NONE).addAllAllowedHosts(hosts);
            if (entityId != null) {
                r.setEntityId(entityId);
            }
            if (uuid == null) {
                // No UUID given: the replica of this name, if there is one, is the one asked for.
                ListReplicasResponse same = stub(ch, d).listReplicas(ListReplicaOptions.newBuilder()
                        .setName(StringValue.of(name)).build());
                if (same.getReplicasCount() == 1) {
                    r.setUuid(same.getReplicas(0).getUuid());
                }
            }
            show(this, stub(ch, d).createReplica(r.build()));
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the replicas (of one pool, with --pool).")
    static final class ListReplicas extends ClientCommand {
        @Parameters(paramLabel = "NAME", arity = "0..1", description = "Only this replica")
        String name;

        @Option(names = "--pool", paramLabel = "POOL", description = "Only this pool's replicas")
        String pool;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListReplicaOptions.Builder r = ListReplicaOptions.newBuilder();
            if (name != null) {
                r.setName(StringValue.of(name));
            }
            if (pool != null) {
                r.setPoolname(StringValue.of(pool));
            }
            ListReplicasResponse replicas = stub(ch, d).listReplicas(r.build());
            print(replicas, () -> table(this, replicas.getReplicasList()));
            return 0;
        }
    }

    @Command(name = "share", mixinStandardHelpOptions = true,
            description = {"Export a replica over NVMe/TCP as nqn.2019-05.io.openebs:<uuid>, kept across restarts.",
                    "Prints its nvmf://host:port/nqn URI on a line of its own."})
    static final class Share extends ClientCommand {
        @Parameters(paramLabel = "NAME", description = "The replica (name or UUID)")
        String name;

        @Option(names = "--allow-host", paramLabel = "NQN", description = "Host NQN allowed to connect (repeatable). Default: any host")
        List<String> hosts = new ArrayList<>();

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Replica r = stub(ch, d).shareReplica(ShareReplicaRequest.newBuilder().setUuid(name)
                    .setShare(ShareProtocol.NVMF).addAllAllowedHosts(hosts).build());
            print(r, () -> {
                // The URI without Mayastor's ?uuid= suffix: what nvme connect and bdev create take.
                String uri = r.getUri();
                out().println(uri.contains("?") ? uri.substring(0, uri.indexOf('?')) : uri);
                out().flush();
            });
            return 0;
        }
    }

    @Command(name = "unshare", mixinStandardHelpOptions = true, description = "Stop exporting a replica (its hosts are disconnected).")
    static final class Unshare extends ClientCommand {
        @Parameters(paramLabel = "NAME", description = "The replica (name or UUID)")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            stub(ch, d).unshareReplica(UnshareReplicaRequest.newBuilder().setUuid(name).build());
            return 0;
        }
    }

    @Command(name = "resize", mixinStandardHelpOptions = true, description = "Grow a replica (shrinking is refused).")
    static final class Resize extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "The replica (name or UUID)")
        String name;

        @Parameters(index = "1", paramLabel = "SIZE", converter = Sizes.Converter.class, description = "Its new size")
        long size;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            show(this, stub(ch, d).resizeReplica(ResizeReplicaRequest.newBuilder().setUuid(name)
                    .setRequestedSize(size).build()));
            return 0;
        }
    }

    @Command(name = "destroy", mixinStandardHelpOptions = true,
            description = "Destroy a replica (unsharing it first); its clusters go back to its pool.")
    static final class Destroy extends ClientCommand {
        @Parameters(paramLabel = "NAME", description = "The replica (name or UUID)")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            stub(ch, d).destroyReplica(DestroyReplicaRequest.newBuilder().setUuid(name).build());
            return 0;
        }
    }
}
