package io.panastor.api.grpc;

import com.google.protobuf.Empty;
import io.grpc.stub.StreamObserver;
import io.panastor.api.cli.BuildInfo;
import io.panastor.api.daemon.EngineInfo;
import io.panastor.api.v1.GetMayastorResourceUsageResponse;
import io.panastor.api.v1.HostRpcGrpc;
import io.panastor.api.v1.ListBlockDevicesRequest;
import io.panastor.api.v1.ListBlockDevicesResponse;
import io.panastor.api.v1.ListNvmeControllersResponse;
import io.panastor.api.v1.ListNvmfTargetResponse;
import io.panastor.api.v1.MayastorFeatures;
import io.panastor.api.v1.MayastorInfoResponse;
import io.panastor.api.v1.NvmeController;
import io.panastor.api.v1.NvmeControllerIoStats;
import io.panastor.api.v1.NvmeControllerState;
import io.panastor.api.v1.NvmfConnection;
import io.panastor.api.v1.NvmfNamespace;
import io.panastor.api.v1.NvmfSubsystem;
import io.panastor.api.v1.Reactor;
import io.panastor.api.v1.StatNvmeControllerRequest;
import io.panastor.api.v1.StatNvmeControllerResponse;
import io.panastor.engine.Engine;
import io.panastor.engine.nvmf.tgt.Namespace;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.engine.nvmf.tgt.Subsystem;
import io.panastor.engine.stats.NvmeControllerInfo;
import io.panastor.engine.stats.ReactorInfo;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;

/**
 * {@code mayastor.v1.HostRpc}: the engine's version and features, reactors and their load,
 * listeners, the NVMe controllers it holds as an initiator and what its target serves.
 */
public final class HostService extends HostRpcGrpc.HostRpcImplBase {
    private final Engine engine;
    private final EngineInfo info;

    public HostService(Engine engine, EngineInfo info) {
        this.engine = engine;
        this.info = info;
    }

    @Override
    public void getMayastorInfo(Empty request, StreamObserver<MayastorInfoResponse> out) {
        Replies.now(out, () -> {
            BuildInfo b = BuildInfo.current();
            MayastorInfoResponse.Builder r = MayastorInfoResponse.newBuilder()
                    .setVersion(b.version())
                    .setCommit(b.commit())
                    // Nothing optional is there yet: ANA, LVM, snapshot rebuild, RDMA, encryption all absent.
                    .setSupportedFeatures(MayastorFeatures.newBuilder().setAsymmetricNamespaceAccess(false)
                            .setLogicalVolumeManager(false).setSnapshotRebuild(false).setRdmaCapableIoEngine(false)
                            .setDiskpoolEncryption(false))
                    .setNodeName(info.nodeName())
                    .setGrpcEndpoint(info.grpcEndpoint())
                    .setUptimeMs(info.uptimeMillis())
                    .setReplicaListener(hostPort(info.replicaListener()))
                    .setNexusListener(hostPort(info.nexusListener()));
            for (ReactorInfo ri : engine.reactorInfo()) {
                r.addReactors(Reactor.newBuilder().setId(ri.id()).setCore(ri.cpu()).setMode(ri.mode())
                        .setCycles(ri.cycles()).setParks(ri.parks()).setBusyFraction(ri.busyFraction()));
            }
            for (InetSocketAddress l : engine.target().listeners()) {
                r.addListeners(hostPort(l));
            }
            return r.build();
        });
    }

    @Override
    public void listBlockDevices(ListBlockDevicesRequest request, StreamObserver<ListBlockDevicesResponse> out) {
        Replies.now(out, () -> ListBlockDevicesResponse.newBuilder()
                .addAllDevices(BlockDevices.list(request.getAll(), engine.listBdevs())).build());
    }

    @Override
    public void getMayastorResourceUsage(Empty request, StreamObserver<GetMayastorResourceUsageResponse> out) {
        Replies.now(out, () -> GetMayastorResourceUsageResponse.newBuilder().setUsage(ProcessUsage.read()).build());
    }

    @Override
    public void listNvmeControllers(Empty request, StreamObserver<ListNvmeControllersResponse> out) {
        Replies.reply(out, engine::nvmeControllers, all -> {
            ListNvmeControllersResponse.Builder r = ListNvmeControllersResponse.newBuilder();
            for (NvmeControllerInfo c : all) {
                NvmeController.Builder nc = toProto(c).toBuilder();
                engine.bdevs().lookup(c.name()).ifPresent(b -> nc.setSize(b.sizeBytes()).setBlkSize(b.blockSize()));
                r.addControllers(nc);
            }
            return r.build();
        });
    }

    @Override
    public void statNvmeController(StatNvmeControllerRequest request, StreamObserver<StatNvmeControllerResponse> out) {
        Replies.reply(out, engine::nvmeControllers, all -> {
            for (NvmeControllerInfo c : all) {
                if (c.name().equals(request.getName())) {
                    return StatNvmeControllerResponse.newBuilder().setStats(stats(c)).build();
                }
            }
            throw GrpcErrors.notFound("no NVMe controller '" + request.getName()
                    + "': ListNvmeControllers shows those there are");
        });
    }

    @Override
    public void listNvmfTarget(Empty request, StreamObserver<ListNvmfTargetResponse> out) {
        // Connections are read on their reactors (Engine.targetConnections), not from here.
        Replies.reply(out, engine::targetConnections, conns -> {
            NvmfTarget t = engine.target();
            ListNvmfTargetResponse.Builder r = ListNvmfTargetResponse.newBuilder();
            for (InetSocketAddress l : t.listeners()) {
                r.addListeners(hostPort(l));
            }
            for (Subsystem s : t.subsystems()) {
                NvmfSubsystem.Builder sb = NvmfSubsystem.newBuilder().setNqn(s.nqn()).setAllowAnyHost(s.allowAnyHost())
                        .addAllAllowedHosts(s.hosts().stream().sorted().toList());
                for (Namespace ns : s.namespaces()) {
                    sb.addNamespaces(NvmfNamespace.newBuilder().setNsid(ns.nsid()).setBdev(ns.bdev().name()));
                }
                r.addSubsystems(sb);
            }
            for (io.panastor.engine.stats.TargetConnectionInfo c : conns) {
                r.addConnections(NvmfConnection.newBuilder().setSubnqn(nz(c.subnqn())).setHostnqn(nz(c.hostnqn()))
                        .setCntlid(c.cntlid()).setQid(c.qid()).setPeer(nz(c.peer())).setReactor(c.reactor()));
            }
            return r.build();
        });
    }

    static NvmeController toProto(NvmeControllerInfo c) {
        return NvmeController.newBuilder()
                .setName(c.name())
                .setState(state(c.state()))
                .setDetailedState(c.state())
                .setAddress(c.address())
                .setSubnqn(c.subnqn())
                .setHostnqn(c.hostnqn())
                .setCntlid(Math.max(0, c.cntlid()))
                .setIoQueues(c.ioQueues())
                .setQueueDepth(c.queueDepth())
                .setStats(stats(c))
                .build();
    }

    private static NvmeControllerIoStats stats(NvmeControllerInfo c) {
        return NvmeControllerIoStats.newBuilder().setNumReadOps(c.numReadOps()).setNumWriteOps(c.numWriteOps())
                .setBytesRead(c.bytesRead()).setBytesWritten(c.bytesWritten()).setNumUnmapOps(c.numUnmapOps())
                .setBytesUnmapped(c.bytesUnmapped()).build();
    }

    /** The engine's controller state in Mayastor's coarser terms. */
    static NvmeControllerState state(String s) {
        return switch (s.toUpperCase(Locale.ROOT)) {
            case "RUNNING", "CONNECTED", "READY" -> NvmeControllerState.RUNNING;
            case "NEW" -> NvmeControllerState.NEW;
            case "RESETTING", "RECONNECTING" -> NvmeControllerState.INITIALIZING;
            case "CLOSED" -> NvmeControllerState.UNCONFIGURED;
            default -> NvmeControllerState.FAULTED;
        };
    }

    private static String hostPort(InetSocketAddress a) {
        return a == null ? "" : a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
