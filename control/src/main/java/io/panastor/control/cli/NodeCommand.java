package io.panastor.control.cli;

import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.panastor.api.client.CommandGroup;
import io.panastor.api.client.Table;
import io.panastor.api.control.v1.GetRequest;
import io.panastor.api.control.v1.ListNodesResponse;
import io.panastor.api.control.v1.ListRequest;
import io.panastor.api.control.v1.Node;
import io.panastor.api.control.v1.NodesGrpc;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code panastor node list|get|cordon|uncordon}: the nodes as the control plane knows them. */
@Command(name = "node", mixinStandardHelpOptions = true, description = "The storage nodes registered with the control plane",
        subcommands = {NodeCommand.ListNodes.class, NodeCommand.Get.class, NodeCommand.Cordon.class,
                NodeCommand.Uncordon.class, NodeCommand.Drain.class})
public final class NodeCommand extends CommandGroup {
    static NodesGrpc.NodesBlockingStub stub(ManagedChannel ch, Deadline d) {
        return NodesGrpc.newBlockingStub(ch).withDeadline(d);
    }

    static void table(ControlClientCommand c, List<Node> nodes) {
        Table t = new Table("ID", "STATUS", "CORDONED", "GRPC", "POOLS", "REPLICAS", "NEXUSES", "LABELS", "HOSTNQN");
        for (Node n : nodes) {
            t.row(n.getId(), ControlClientCommand.lower(n.getStatus(), "NODE_"), n.getCordoned() ? "yes" : "no",
                    n.getGrpcEndpoint(), n.getPools(), n.getReplicas(), n.getNexuses(), labels(n.getLabelsMap()),
                    n.getHostnqn());
        }
        t.print(c.out());
    }

    static String labels(Map<String, String> m) {
        return m.isEmpty() ? "-" : String.join(",", new java.util.TreeMap<>(m).entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue()).toList());
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the nodes, with their status")
    static final class ListNodes extends ControlClientCommand {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListNodesResponse.Builder all = ListNodesResponse.newBuilder();
            String token = "";
            do {
                ListNodesResponse r = stub(ch, d).listNodes(ListRequest.newBuilder().setPageSize(500).setPageToken(token)
                        .build());
                all.addAllNodes(r.getNodesList());
                token = r.getNextPageToken();
            } while (!token.isEmpty());
            ListNodesResponse r = all.build();
            print(r, () -> table(this, r.getNodesList()));
            return 0;
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Show one node")
    static final class Get extends ControlClientCommand {
        @Parameters(paramLabel = "NODE")
        String node;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Node n = stub(ch, d).getNode(GetRequest.newBuilder().setName(node).build());
            print(n, () -> table(this, List.of(n)));
            return 0;
        }
    }

    @Command(name = "cordon", mixinStandardHelpOptions = true,
            description = "No new replicas or nexuses on the node (what it has stays)")
    static final class Cordon extends ControlClientCommand {
        @Parameters(paramLabel = "NODE")
        String node;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Node n = stub(ch, d).cordonNode(GetRequest.newBuilder().setName(node).build());
            print(n, () -> table(this, List.of(n)));
            return 0;
        }
    }

    @Command(name = "drain", mixinStandardHelpOptions = true,
            description = "Cordon the node and move its nexuses to other nodes (and its replicas, with --replicas)")
    static final class Drain extends ControlClientCommand {
        @Parameters(paramLabel = "NODE")
        String node;

        @picocli.CommandLine.Option(names = "--replicas", description = "Move its replicas too (each rebuilt elsewhere)")
        boolean replicas;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Node n = stub(ch, d).drainNode(io.panastor.api.control.v1.DrainNodeRequest.newBuilder().setName(node)
                    .setReplicas(replicas).build());
            print(n, () -> table(this, List.of(n)));
            return 0;
        }
    }

    @Command(name = "uncordon", mixinStandardHelpOptions = true, description = "Let the node take replicas and nexuses again")
    static final class Uncordon extends ControlClientCommand {
        @Parameters(paramLabel = "NODE")
        String node;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            Node n = stub(ch, d).uncordonNode(GetRequest.newBuilder().setName(node).build());
            print(n, () -> table(this, List.of(n)));
            return 0;
        }
    }
}
