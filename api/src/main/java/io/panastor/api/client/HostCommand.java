package io.panastor.api.client;

import com.google.protobuf.Empty;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.panastor.api.cli.Sizes;
import io.panastor.api.v1.BlockDevice;
import io.panastor.api.v1.HostRpcGrpc;
import io.panastor.api.v1.ListBlockDevicesRequest;
import io.panastor.api.v1.ListBlockDevicesResponse;
import io.panastor.api.v1.ListNvmeControllersResponse;
import io.panastor.api.v1.ListNvmfTargetResponse;
import io.panastor.api.v1.MayastorInfoResponse;
import io.panastor.api.v1.NvmeController;
import io.panastor.api.v1.NvmfConnection;
import io.panastor.api.v1.NvmfSubsystem;
import io.panastor.api.v1.Reactor;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code panastor host ...}: the HostRpc service from a shell. */
@Command(name = "host", mixinStandardHelpOptions = true, description = "What a running engine is and holds.",
        subcommands = {HostCommand.Info.class, HostCommand.Controllers.class, HostCommand.Target.class,
                HostCommand.BlockDevices.class})
public final class HostCommand extends CommandGroup {
    static HostRpcGrpc.HostRpcBlockingStub stub(ManagedChannel ch, Deadline d) {
        return HostRpcGrpc.newBlockingStub(ch).withDeadline(d);
    }

    @Command(name = "info", mixinStandardHelpOptions = true,
            description = "Version and commit, node, endpoints, reactors and their load.")
    static final class Info extends ClientCommand {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            MayastorInfoResponse i = stub(ch, d).getMayastorInfo(Empty.getDefaultInstance());
            if (options.json()) {
                printJson(i);
                return 0;
            }
            PrintWriter o = out();
            o.println("version   " + i.getVersion() + " (commit " + i.getCommit() + ")");
            o.println("node      " + i.getNodeName());
            o.println("grpc      " + i.getGrpcEndpoint());
            o.println("replicas  " + i.getReplicaListener());
            o.println("nexus     " + i.getNexusListener());
            o.println("listeners " + String.join(" ", i.getListenersList()));
            o.println("uptime    " + i.getUptimeMs() / 1000 + " s");
            o.println();
            Table t = new Table("REACTOR", "CORE", "MODE", "BUSY %", "CYCLES", "PARKS");
            for (Reactor r : i.getReactorsList()) {
                t.row(r.getId(), r.getCore(), r.getMode(), String.format(Locale.ROOT, "%.1f", 100 * r.getBusyFraction()),
                        r.getCycles(), r.getParks());
            }
            t.print(o);
            return 0;
        }
    }

    @Command(name = "controllers", mixinStandardHelpOptions = true,
            description = "The NVMe controllers this engine holds as an initiator (its nvmf:// bdevs).")
    static final class Controllers extends ClientCommand {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListNvmeControllersResponse r = stub(ch, d).listNvmeControllers(Empty.getDefaultInstance());
            if (options.json()) {
                printJson(r);
                return 0;
            }
            Table t = new Table("NAME", "STATE", "ADDRESS", "SUBNQN", "CNTLID", "QUEUES", "DEPTH", "READS", "WRITES");
            for (NvmeController c : r.getControllersList()) {
                t.row(c.getName(), c.getDetailedState(), c.getAddress(), c.getSubnqn(), c.getCntlid(), c.getIoQueues(),
                        c.getQueueDepth(), c.getStats().getNumReadOps(), c.getStats().getNumWriteOps());
            }
            t.print(out());
            return 0;
        }
    }

    @Command(name = "target", mixinStandardHelpOptions = true,
            description = "What this engine's NVMe/TCP target serves: listeners, subsystems, connections.")
    static final class Target extends ClientCommand {
        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListNvmfTargetResponse r = stub(ch, d).listNvmfTarget(Empty.getDefaultInstance());
            if (options.json()) {
                printJson(r);
                return 0;
            }
            PrintWriter o = out();
            o.println("listeners " + String.join(" ", r.getListenersList()));
            o.println();
            Table s = new Table("SUBSYSTEM", "HOSTS", "NAMESPACES");
            for (NvmfSubsystem sub : r.getSubsystemsList()) {
                s.row(sub.getNqn(), sub.getAllowAnyHost() ? "any" : String.join(",", sub.getAllowedHostsList()),
                        sub.getNamespacesList().stream().map(n -> n.getNsid() + ":" + n.getBdev())
                                .collect(Collectors.joining(",")));
            }
            s.print(o);
            o.println();
            Table c = new Table("PEER", "SUBSYSTEM", "HOST", "CNTLID", "QID", "REACTOR");
            for (NvmfConnection n : r.getConnectionsList()) {
                c.row(n.getPeer(), n.getSubnqn(), n.getHostnqn(), n.getCntlid(), n.getQid(), n.getReactor());
            }
            c.print(o);
            return 0;
        }
    }

    @Command(name = "block-devices", mixinStandardHelpOptions = true,
            description = "This host's block devices a pool could use (--all: every one).")
    static final class BlockDevices extends ClientCommand {
        @Option(names = "--all", description = "Also those in use")
        boolean all;

        @Override
        int run(ManagedChannel ch, Deadline d) {
            ListBlockDevicesResponse r = stub(ch, d).listBlockDevices(ListBlockDevicesRequest.newBuilder().setAll(all).build());
            if (options.json()) {
                printJson(r);
                return 0;
            }
            Table t = new Table("DEVICE", "SIZE", "MODEL", "AVAILABLE", "ROTATIONAL");
            for (BlockDevice b : r.getDevicesList()) {
                t.row(b.getDevname(), Sizes.format(b.getSize() * 512), b.getModel(), b.getAvailable(), b.getIsRotational());
            }
            t.print(out());
            return 0;
        }
    }
}
