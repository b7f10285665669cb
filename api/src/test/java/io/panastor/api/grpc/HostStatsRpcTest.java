package io.panastor.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Empty;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import io.panastor.api.v1.BdevRpcGrpc;
import io.panastor.api.v1.BdevShareRequest;
import io.panastor.api.v1.CreateBdevRequest;
import io.panastor.api.v1.HostRpcGrpc;
import io.panastor.api.v1.IoStats;
import io.panastor.api.v1.ListNvmfTargetResponse;
import io.panastor.api.v1.ListStatsOption;
import io.panastor.api.v1.MayastorInfoResponse;
import io.panastor.api.v1.NvmeController;
import io.panastor.api.v1.NvmeControllerState;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.api.v1.StatNvmeControllerRequest;
import io.panastor.api.v1.StatsRpcGrpc;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.BlockPattern;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HostRpc, StatsRpc, health and reflection through a real Netty server on 127.0.0.1. */
class HostStatsRpcTest {
    @TempDir
    Path state;
    DaemonFixture f;

    @BeforeEach
    void start() {
        f = new DaemonFixture(state, false);
    }

    @AfterEach
    void stop() throws InterruptedException {
        f.close();
    }

    /** m0 shared, and the engine's own initiator attached to it as bdev "remote" name. */
    private String shareAndAttach() {
        BdevRpcGrpc.BdevRpcBlockingStub bdevs = BdevRpcGrpc.newBlockingStub(f.channel);
        bdevs.create(CreateBdevRequest.newBuilder().setUri("malloc:///m0?size_mb=8&blk_size=4096").build());
        String uri = bdevs.share(BdevShareRequest.newBuilder().setName("m0").setProtocol(ShareProtocol.NVMF).build())
                .getBdev().getShareUri();
        return bdevs.create(CreateBdevRequest.newBuilder().setUri(uri).build()).getBdev().getName();
    }

    @Test
    void infoNamesTheVersionNodeEndpointsAndReactors() {
        MayastorInfoResponse i = HostRpcGrpc.newBlockingStub(f.channel).getMayastorInfo(Empty.getDefaultInstance());
        assertThat(i.getVersion()).isNotBlank();
        assertThat(i.getCommit()).isNotBlank();
        assertThat(i.getNodeName()).isEqualTo("test-node");
        assertThat(i.getGrpcEndpoint()).isEqualTo("127.0.0.1:" + f.daemon.grpcAddress().getPort());
        assertThat(i.getReplicaListener()).isEqualTo("127.0.0.1:" + f.daemon.replicaAddress().getPort());
        assertThat(i.getListenersList()).contains(i.getReplicaListener(), i.getNexusListener());
        assertThat(i.getReactorsList()).hasSize(1);
        assertThat(i.getReactors(0).getBusyFraction()).isBetween(0.0, 1.0);
        assertThat(i.getReactors(0).getCycles()).isPositive();
        assertThat(i.getSupportedFeatures().getAsymmetricNamespaceAccess()).isFalse();
    }

    @Test
    void controllersTargetAndStatsFollowTheIo() {
        String remote = shareAndAttach();
        HostRpcGrpc.HostRpcBlockingStub host = HostRpcGrpc.newBlockingStub(f.channel);
        List<NvmeController> ctrls = host.listNvmeControllers(Empty.getDefaultInstance()).getControllersList();
        assertThat(ctrls).singleElement().satisfies(c -> {
            assertThat(c.getName()).isEqualTo(remote);
            assertThat(c.getState()).isEqualTo(NvmeControllerState.RUNNING);
            assertThat(c.getSubnqn()).isEqualTo("nqn.2019-05.io.openebs:m0");
            assertThat(c.getAddress()).isEqualTo("127.0.0.1:" + f.daemon.replicaAddress().getPort());
            assertThat(c.getIoQueues()).isPositive();
            assertThat(c.getSize()).isEqualTo(8L << 20);
        });
        ListNvmfTargetResponse t = host.listNvmfTarget(Empty.getDefaultInstance());
        assertThat(t.getSubsystemsList()).anySatisfy(s -> {
            assertThat(s.getNqn()).isEqualTo("nqn.2019-05.io.openebs:m0");
            assertThat(s.getNamespaces(0).getBdev()).isEqualTo("m0");
        });

        // 10 writes and 4 reads of one 4 KiB block each, through the share.
        Engine e = f.daemon.engine();
        try (Arena a = Arena.ofShared()) {
            MemorySegment buf = a.allocate(4096, 4096);
            new BlockPattern().fill(buf, 0, 4096, 0, 1, 1);
            for (int i = 0; i < 10; i++) {
                assertThat(Engine.await(e.write(remote, i, 1, buf)).ok()).isTrue();
            }
            for (int i = 0; i < 4; i++) {
                assertThat(Engine.await(e.read(remote, i, 1, buf)).ok()).isTrue();
            }
        }
        // The IO queue connected with the first IO: the target serves it beside the admin queue.
        assertThat(host.listNvmfTarget(Empty.getDefaultInstance()).getConnectionsList()).extracting(c -> c.getQid())
                .contains(0, 1);
        StatsRpcGrpc.StatsRpcBlockingStub stats = StatsRpcGrpc.newBlockingStub(f.channel);
        IoStats m0 = stats.getBdevIoStats(ListStatsOption.newBuilder().setName("m0").build()).getStats(0);
        assertThat(m0.getNumWriteOps()).isEqualTo(10);
        assertThat(m0.getBytesWritten()).isEqualTo(10 * 4096);
        assertThat(m0.getNumReadOps()).isEqualTo(4);
        assertThat(m0.getBytesRead()).isEqualTo(4 * 4096);
        assertThat(m0.getTickRate()).isEqualTo(1_000_000_000L);
        assertThat(m0.getMinWriteLatencyTicks()).isPositive().isLessThanOrEqualTo(m0.getMaxWriteLatencyTicks());
        assertThat(m0.getWriteLatencyTicks()).isGreaterThanOrEqualTo(m0.getMaxWriteLatencyTicks());
        assertThat(host.statNvmeController(StatNvmeControllerRequest.newBuilder().setName(remote).build())
                .getStats().getNumWriteOps()).isEqualTo(10);

        stats.resetIoStats(Empty.getDefaultInstance());
        assertThat(stats.getBdevIoStats(ListStatsOption.getDefaultInstance()).getStatsList())
                .allSatisfy(s -> assertThat(s.getNumWriteOps() + s.getNumReadOps() + s.getWriteLatencyTicks()).isZero());

        assertThatThrownBy(() -> stats.getBdevIoStats(ListStatsOption.newBuilder().setName("nope").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        x -> assertThat(x.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> host.statNvmeController(StatNvmeControllerRequest.newBuilder().setName("nope").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        x -> assertThat(x.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThat(stats.getPoolIoStats(ListStatsOption.getDefaultInstance()).getStatsCount()).isZero();
    }

    @Test
    void healthSaysServingAndReflectionListsEveryService() throws Exception {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(f.channel);
        for (String s : List.of("", "mayastor.v1.BdevRpc", "mayastor.v1.HostRpc", "mayastor.v1.StatsRpc")) {
            assertThat(health.check(HealthCheckRequest.newBuilder().setService(s).build()).getStatus())
                    .as(s).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        }
        CompletableFuture<List<String>> names = new CompletableFuture<>();
        StreamObserver<ServerReflectionRequest> req = ServerReflectionGrpc.newStub(f.channel).serverReflectionInfo(
                new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse r) {
                        names.complete(r.getListServicesResponse().getServiceList().stream()
                                .map(ServiceResponse::getName).toList());
                    }

                    @Override
                    public void onError(Throwable t) {
                        names.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        assertThat(names.get(30, TimeUnit.SECONDS)).contains("mayastor.v1.BdevRpc", "mayastor.v1.HostRpc",
                "mayastor.v1.StatsRpc", "mayastor.v1.PoolRpc", "mayastor.v1.ReplicaRpc", "mayastor.v1.NexusRpc",
                "grpc.health.v1.Health");
        req.onCompleted();
    }
}
