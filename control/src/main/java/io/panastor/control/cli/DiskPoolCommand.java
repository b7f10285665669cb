package io.panastor.control.cli;

import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.panastor.api.cli.Sizes;
import io.panastor.api.client.CommandGroup;
import io.panastor.api.client.Table;
import io.panastor.api.control.v1.CreateDiskPoolRequest;
import io.panastor.api.control.v1.DiskPool;
import io.panastor.api.control.v1.DiskPoolsGrpc;
import io.panastor.api.control.v1.GetRequest;
import io.panastor.api.control.v1.ListDiskPoolsResponse;
import io.panastor.api.control.v1.ListRequest;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code panastor diskpool create|list|get|delete}: DiskPool resources, cluster-wide. */
@Command(name = "diskpool", mixinStandardHelpOptions = true,
        description = "Disk pools of every node, as the control plane keeps them (pool list is one engine's view)",
        subcommands = {DiskPoolCommand.Create.class, DiskPoolCommand.ListPools.class, DiskPoolCommand.Get.class,
                DiskPoolCommand.Delete.class})
public final class DiskPoolCommand extends CommandGroup {
    static DiskPoolsGrpc.DiskPoolsBlockingStub stub(ManagedChannel ch, Deadline d) {
        return DiskPoolsGrpc.newBlockingStub(ch).withDeadline(d);
    }

    static void table(ControlClientCommand c, List<DiskPool> pools) {
        Table t = new Table("NAME", "NODE", "STATE", "STATUS", "CAPACITY", "USED", "AVAILABLE", "REPLICAS", "DISK");
        for (DiskPool p : pools) {
            t.row(p.getName(), p.getSpec().getNode(), ControlClientCommand.lower(p.getStatus().getCrState(), "CR_"),
                    ControlClientCommand.lower(p.getStatus().getPoolStatus(), "POOL_STATUS_"),
                    Sizes.format(p.getStatus().getCapacity()), Sizes.format(p.getStatus().getUsed()),
                    Sizes.format(p.getStatus().getAvailable()), p.getStatus().getReplicas(),
                    String.join(",", p.getSpec().getDisksList()));
        }
        t.print(c.out());
        for (DiskPool p : pools) {
            if (!p.getStatus().getError().isEmpty()) {
                c.out().println(p.getName() + ": " + p.getStatus().getError());
            }
        }
        c.out().flush();
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Make a pool on a node's disk (imported if the disk holds it already)")
    static final class Create extends ControlClientCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "DISK_URI", description = "A disk URI or path on the node")
        String disk;

        @Option(names = "--node", required = true, paramLabel = "NODE")
        String node;

        @Option(names = "--label", paramLabel = "KEY=VALUE", description = "Topology labels volumes may select pools by")
        Map<String, String> labels = Map.of();

        @Override
        int run(ManagedChannel ch, Deadline d) {
            DiskPool p = stub(ch, d).createDiskPool(CreateDiskPoolRequest.newBuilder().setName(name).setNode(node)
                    .addDisks(disk).putAllLabels(labels).build());
            print(p, () -> table(this, List.of(p)));
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List every node's pools, with their status")
    static final class ListPools extends ControlClientCommand {
        @Option(names = "--node", paramLabel = "NODE", description = "Only this node's")
        String node = "";

        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListDiskPoolsResponse.Builder all = ListDiskPoolsResponse.newBuilder();
            String token = "";
            do {
                ListDiskPoolsResponse r = stub(ch, d).listDiskPools(ListRequest.newBuilder().setPageSize(500)
                        .setPageToken(token).setNode(node).build());
                all.addAllPools(r.getPoolsList());
                token = r.getNextPageToken();
            } while (!token.isEmpty());
            ListDiskPoolsResponse r = all.build();
            print(r, () -> table(this, r.getPoolsList()));
            return 0;
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Show one pool")
    static final class Get extends ControlClientCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            DiskPool p = stub(ch, d).getDiskPool(GetRequest.newBuilder().setName(name).build());
            print(p, () -> table(this, List.of(p)));
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Destroy a pool (refused while it holds replicas)")
    static final class Delete extends ControlClientCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            stub(ch, d).deleteDiskPool(GetRequest.newBuilder().setName(name).build());
            if (options.output == ControlOptions.Format.table) {
                out().println("deleted pool " + name);
                out().flush();
            } else {
                print(com.google.protobuf.Empty.getDefaultInstance(), () -> { });
            }
            return 0;
        }
    }
}
