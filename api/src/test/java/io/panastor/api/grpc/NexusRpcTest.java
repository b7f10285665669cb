package io.panastor.api.grpc;

import static io.panastor.api.grpc.PoolRpcTest.assertCode;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import io.grpc.Status;
import io.panastor.api.v1.AddChildNexusRequest;
import io.panastor.api.v1.BdevRpcGrpc;
import io.panastor.api.v1.Child;
import io.panastor.api.v1.ChildAction;
import io.panastor.api.v1.ChildOperationRequest;
import io.panastor.api.v1.ChildState;
import io.panastor.api.v1.ChildStateReason;
import io.panastor.api.v1.CreateBdevRequest;
import io.panastor.api.v1.CreateNexusRequest;
import io.panastor.api.v1.CreatePoolRequest;
import io.panastor.api.v1.DestroyBdevRequest;
import io.panastor.api.v1.DestroyNexusRequest;
import io.panastor.api.v1.FaultNexusChildRequest;
import io.panastor.api.v1.IoStats;
import io.panastor.api.v1.ListBdevOptions;
import io.panastor.api.v1.ListNexusOptions;
import io.panastor.api.v1.ListStatsOption;
import io.panastor.api.v1.Nexus;
import io.panastor.api.v1.ListRebuildHistoryRequest;
import io.panastor.api.v1.RebuildHistoryRecord;
import io.panastor.api.v1.RebuildJobState;
import io.panastor.api.v1.NexusRpcGrpc;
import io.panastor.api.v1.NexusState;
import io.panastor.api.v1.PoolRpcGrpc;
import io.panastor.api.v1.PublishNexusRequest;
import io.panastor.api.v1.RemoveChildNexusRequest;
import io.panastor.api.v1.Replica;
import io.panastor.api.v1.ReplicaRpcGrpc;
import io.panastor.api.v1.ResizeNexusRequest;
import io.panastor.api.v1.ResizeReplicaRequest;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.api.v1.ShutdownNexusRequest;
import io.panastor.api.v1.StatsRpcGrpc;
import io.panastor.api.v1.UnpublishNexusRequest;
import io.panastor.api.daemon.EngineDaemon;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.nexus.FileHealthStore;
import io.panastor.engine.nexus.HealthRecord;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NexusRpc through a real gRPC server: a nexus over two replicas (pools on malloc disks) and
 * over malloc children; create, list, publish (data through it to both replicas), fault,
 * online, offline, resize, shutdown, destroy; every error's code.
 */
class NexusRpcTest {
    static final long MiB = 1L << 20;
    static final int BLOCK = 4096;
    static final int BLOCKS = 64;
    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000000cc";

    @TempDir
    Path dir;
    DaemonFixture f;
    NexusRpcGrpc.NexusRpcBlockingStub nexus;
    ReplicaRpcGrpc.ReplicaRpcBlockingStub replicas;
    BdevRpcGrpc.BdevRpcBlockingStub bdevs;
    Replica r0;
    Replica r1;
    final Arena arena = Arena.ofShared();

    @BeforeEach
    void start() {
        f = new DaemonFixture(dir.resolve("state"), false);
        nexus = NexusRpcGrpc.newBlockingStub(f.channel);
        replicas = ReplicaRpcGrpc.newBlockingStub(f.channel);
        bdevs = BdevRpcGrpc.newBlockingStub(f.channel);
        PoolRpcGrpc.PoolRpcBlockingStub pools = PoolRpcGrpc.newBlockingStub(f.channel);
        for (int i = 0; i < 2; i++) {
            pools.createPool(CreatePoolRequest.newBuilder().setName("p" + i)
                    .addDisks("malloc:///d" + i + "?size_mb=64&blk_size=4096").setClusterSize((int) MiB).build());
        }
        r0 = replica("p0");
        r1 = replica("p1");
    }

    Replica replica(String pool) {
        String u = UUID.randomUUID().toString();
        return replicas.createReplica(ReplicaRpcTest.replica(u, u, 8 * MiB).setPooluuid(pool).setThin(true).build());
    }

    @AfterEach
    void stop() throws InterruptedException {
        f.close();
        arena.close();
    }

    static CreateNexusRequest.Builder create(String name, String uuid, long size, String... children) {
        return CreateNexusRequest.newBuilder().setName(name).setUuid(uuid).setSize(size).addAllChildren(List.of(children));
    }

    List<Nexus> list() {
        return nexus.listNexus(ListNexusOptions.getDefaultInstance()).getNexusListList();
    }

    Nexus only() {
        List<Nexus> all = list();
        assertThat(all).hasSize(1);
        return all.getFirst();
    }

    /** Waits for the end of child {@code uri}'s rebuild; then the nexus (the only one) must be ONLINE. */
    void awaitRebuilt(String nexusUuid, String uri) throws Exception {
        assertThat(f.daemon.engine().rebuildEnd(nexusUuid, uri).get(60, java.util.concurrent.TimeUnit.SECONDS).state())
                .isEqualTo(io.panastor.engine.rebuild.RebuildState.COMPLETED);
        assertThat(only().getState()).isEqualTo(NexusState.NEXUS_ONLINE);
    }

    static void assertChild(Child c, String uri, ChildState state, ChildStateReason reason) {
        assertThat(c.getUri()).isEqualTo(uri);
        assertThat(c.getState()).as(uri).isEqualTo(state);
        assertThat(c.getStateReason()).as(uri).isEqualTo(reason);
    }

    @Test
    void createListAndEveryErrorCode() {
        String u = UUID.randomUUID().toString();
        Nexus n = nexus.createNexus(create("n0", u, 8 * MiB, r0.getUri(), r1.getUri()).build()).getNexus();
        assertThat(n.getName()).isEqualTo("n0");
        assertThat(n.getUuid()).isEqualTo(u);
        assertThat(n.getSize()).isEqualTo(8 * MiB);
        assertThat(n.getState()).isEqualTo(NexusState.NEXUS_ONLINE);
        assertThat(n.getDeviceUri()).isEmpty();
        assertThat(n.getChildrenCount()).isEqualTo(2);
        assertChild(n.getChildren(0), r0.getUri(), ChildState.CHILD_STATE_ONLINE, ChildStateReason.CHILD_STATE_REASON_NONE);
        assertChild(n.getChildren(1), r1.getUri(), ChildState.CHILD_STATE_ONLINE, ChildStateReason.CHILD_STATE_REASON_NONE);
        assertThat(n.getChildren(0).getDeviceName()).isEqualTo(r0.getUuid());

        // Idempotent for the identical nexus; another under its name is refused.
        assertThat(nexus.createNexus(create("n0", u, 8 * MiB, r0.getUri(), r1.getUri()).build()).getNexus()).isEqualTo(n);
        assertCode(() -> nexus.createNexus(create("n0", u, 4 * MiB, r0.getUri(), r1.getUri()).build()),
                Status.Code.ALREADY_EXISTS, "n0");
        // Bad arguments, each naming its field.
        String v = UUID.randomUUID().toString();
        assertCode(() -> nexus.createNexus(create("n1", "xyz", MiB, "malloc:///x?size_mb=1").build()),
                Status.Code.INVALID_ARGUMENT, "uuid");
        assertCode(() -> nexus.createNexus(create("n1", "", MiB, "malloc:///x?size_mb=1").build()),
                Status.Code.INVALID_ARGUMENT, "uuid");
        assertCode(() -> nexus.createNexus(create("", v, MiB, "malloc:///x?size_mb=1").build()),
                Status.Code.INVALID_ARGUMENT, "name");
        assertCode(() -> nexus.createNexus(create("n1", v, 0, "malloc:///x?size_mb=1").build()),
                Status.Code.INVALID_ARGUMENT, "size");
        assertCode(() -> nexus.createNexus(create("n1", v, MiB).build()), Status.Code.INVALID_ARGUMENT, "children");
        // A child another nexus holds.
        assertCode(() -> nexus.createNexus(create("n1", v, MiB, r0.getUri()).build()),
                Status.Code.FAILED_PRECONDITION, "");
        // A child smaller than the nexus.
        assertCode(() -> nexus.createNexus(create("n1", v, 16 * MiB, "malloc:///x?size_mb=8&blk_size=4096").build()),
                Status.Code.INVALID_ARGUMENT, "");
        assertThat(list()).containsExactly(n);
        assertThat(bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevsList()).extracting(b -> b.getName())
                .as("a failed create leaves no child bdev behind").doesNotContain("x");

        // Its replicas are the nexus's: neither shared, destroyed nor their pool exported under it.
        assertCode(() -> replicas.shareReplica(io.panastor.api.v1.ShareReplicaRequest.newBuilder().setUuid(r0.getUuid())
                .setShare(ShareProtocol.NVMF).build()), Status.Code.FAILED_PRECONDITION, "nexus n0");
        assertCode(() -> replicas.destroyReplica(io.panastor.api.v1.DestroyReplicaRequest.newBuilder()
                .setUuid(r1.getUuid()).build()), Status.Code.FAILED_PRECONDITION, "nexus n0");
        assertCode(() -> PoolRpcGrpc.newBlockingStub(f.channel).exportPool(io.panastor.api.v1.ExportPoolRequest
                .newBuilder().setName("p0").build()), Status.Code.FAILED_PRECONDITION, "nexus n0");

        // The nexus's bdev is published by PublishNexus only, not shared as a bdev.
        assertCode(() -> bdevs.share(io.panastor.api.v1.BdevShareRequest.newBuilder().setName("n0")
                .setProtocol(ShareProtocol.NVMF).build()), Status.Code.FAILED_PRECONDITION, "PublishNexus");

        // Filters.
        assertThat(nexus.listNexus(ListNexusOptions.newBuilder().setName(StringValue.of("n0")).build())
                .getNexusListList()).containsExactly(n);
        assertThat(nexus.listNexus(ListNexusOptions.newBuilder().setUuid(StringValue.of(u)).build())
                .getNexusListList()).containsExactly(n);
        assertThat(nexus.listNexus(ListNexusOptions.newBuilder().setName(StringValue.of("nope")).build())
                .getNexusListCount()).isZero();

        // An unknown nexus: NOT_FOUND, except destroy, which is done already.
        String w = UUID.randomUUID().toString();
        assertCode(() -> nexus.shutdownNexus(ShutdownNexusRequest.newBuilder().setUuid(w).build()), Status.Code.NOT_FOUND, w);
        assertCode(() -> nexus.resizeNexus(ResizeNexusRequest.newBuilder().setUuid(w).setRequestedSize(MiB).build()),
                Status.Code.NOT_FOUND, w);
        assertCode(() -> nexus.publishNexus(PublishNexusRequest.newBuilder().setUuid(w).setShare(ShareProtocol.NVMF)
                .build()), Status.Code.NOT_FOUND, w);
        assertCode(() -> nexus.unpublishNexus(UnpublishNexusRequest.newBuilder().setUuid(w).build()),
                Status.Code.NOT_FOUND, w);
        assertCode(() -> nexus.addChildNexus(AddChildNexusRequest.newBuilder().setUuid(w).setUri("malloc:///y").build()),
                Status.Code.NOT_FOUND, w);
        assertCode(() -> nexus.removeChildNexus(RemoveChildNexusRequest.newBuilder().setUuid(w).setUri(r0.getUri())
                .build()), Status.Code.NOT_FOUND, w);
        assertCode(() -> nexus.faultNexusChild(FaultNexusChildRequest.newBuilder().setUuid(w).setUri(r0.getUri())
                .build()), Status.Code.NOT_FOUND, w);
        assertCode(() -> nexus.childOperation(ChildOperationRequest.newBuilder().setNexusUuid(w).setUri(r0.getUri())
                .setAction(ChildAction.Offline).build()), Status.Code.NOT_FOUND, w);
        nexus.destroyNexus(DestroyNexusRequest.newBuilder().setUuid(w).build());
        assertCode(() -> nexus.destroyNexus(DestroyNexusRequest.getDefaultInstance()), Status.Code.INVALID_ARGUMENT, "uuid");
        // A child the nexus does not have; bad arguments on a nexus that is there.
        assertCode(() -> nexus.faultNexusChild(FaultNexusChildRequest.newBuilder().setUuid(u).setUri("malloc:///z")
                .build()), Status.Code.NOT_FOUND, "malloc:///z");
        assertCode(() -> nexus.removeChildNexus(RemoveChildNexusRequest.newBuilder().setUuid(u).build()),
                Status.Code.INVALID_ARGUMENT, "uri");
        assertCode(() -> nexus.publishNexus(PublishNexusRequest.newBuilder().setUuid(u).setShare(ShareProtocol.NONE)
                .build()), Status.Code.INVALID_ARGUMENT, "NVMF");
        assertCode(() -> nexus.publishNexus(PublishNexusRequest.newBuilder().setUuid(u).setShare(ShareProtocol.NVMF)
                .addAllowedHosts("host-a").build()), Status.Code.INVALID_ARGUMENT, "NQN");
        assertCode(() -> nexus.resizeNexus(ResizeNexusRequest.newBuilder().setUuid(u).setRequestedSize(4 * MiB).build()),
                Status.Code.INVALID_ARGUMENT, "shrink");
        assertCode(() -> nexus.resizeNexus(ResizeNexusRequest.newBuilder().setUuid(u).build()),
                Status.Code.INVALID_ARGUMENT, "requested_size");
        assertCode(() -> nexus.resizeNexus(ResizeNexusRequest.newBuilder().setUuid(u).setRequestedSize(64 * MiB).build()),
                Status.Code.INVALID_ARGUMENT, "smaller");
        assertCode(() -> nexus.childOperation(ChildOperationRequest.newBuilder().setNexusUuid(u).setUri(r1.getUri())
                .setAction(ChildAction.FaultIOError).build()), Status.Code.INVALID_ARGUMENT, "action");
        assertThat(list()).containsExactly(n);

        // Destroyed by name or UUID; its replicas are free again.
        nexus.destroyNexus(DestroyNexusRequest.newBuilder().setUuid("n0").build());
        assertThat(list()).isEmpty();
        nexus.destroyNexus(DestroyNexusRequest.newBuilder().setUuid(u).build());
        assertThat(replicas.shareReplica(io.panastor.api.v1.ShareReplicaRequest.newBuilder().setUuid(r0.getUuid())
                .setShare(ShareProtocol.NVMF).build()).getShare()).isEqualTo(ShareProtocol.NVMF);
    }

    @Test
    void mallocChildrenAddedAndRemovedAndTheLastHealthyStays() {
        String u = UUID.randomUUID().toString();
        String m0 = "malloc:///nm0?size_mb=16&blk_size=4096";
        String m1 = "malloc:///nm1?size_mb=16&blk_size=4096";
        Nexus n = nexus.createNexus(create("n0", u, 8 * MiB, m0).build()).getNexus();
        assertThat(n.getState()).isEqualTo(NexusState.NEXUS_ONLINE);
        assertThat(n.getChildren(0).getDeviceName()).isEqualTo("nm0");

        Nexus added = nexus.addChildNexus(AddChildNexusRequest.newBuilder().setUuid(u).setUri(m1).setNorebuild(true)
                .build()).getNexus();
        assertThat(added.getState()).isEqualTo(NexusState.NEXUS_DEGRADED);
        assertChild(added.getChildren(1), m1, ChildState.CHILD_STATE_DEGRADED,
                ChildStateReason.CHILD_STATE_REASON_OUT_OF_SYNC);
        // Again: the child it has.
        assertThat(nexus.addChildNexus(AddChildNexusRequest.newBuilder().setUuid(u).setUri(m1).build()).getNexus())
                .isEqualTo(added);

        // nm0 is the only healthy child: neither removed, faulted nor taken offline.
        assertCode(() -> nexus.removeChildNexus(RemoveChildNexusRequest.newBuilder().setUuid(u).setUri(m0).build()),
                Status.Code.FAILED_PRECONDITION, "last healthy");
        assertCode(() -> nexus.faultNexusChild(FaultNexusChildRequest.newBuilder().setUuid(u).setUri(m0).build()),
                Status.Code.FAILED_PRECONDITION, "last healthy");
        assertCode(() -> nexus.childOperation(ChildOperationRequest.newBuilder().setNexusUuid(u).setUri(m0)
                .setAction(ChildAction.Offline).build()), Status.Code.FAILED_PRECONDITION, "last healthy");

        Nexus removed = nexus.removeChildNexus(RemoveChildNexusRequest.newBuilder().setUuid(u).setUri(m1).build())
                .getNexus();
        assertThat(removed.getChildrenList()).extracting(Child::getUri).containsExactly(m0);
        assertThat(removed.getState()).isEqualTo(NexusState.NEXUS_ONLINE);
        assertThat(bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevsList()).extracting(b -> b.getName())
                .as("the bdev the nexus made for its child went with it").contains("nm0", "n0").doesNotContain("nm1");

        // Shut down: unpublished, no more changes, then destroyed (its malloc child with it).
        nexus.publishNexus(PublishNexusRequest.newBuilder().setUuid(u).setShare(ShareProtocol.NVMF).build());
        Nexus down = nexus.shutdownNexus(ShutdownNexusRequest.newBuilder().setUuid(u).build()).getNexus();
        assertThat(down.getState()).isEqualTo(NexusState.NEXUS_SHUTDOWN);
        assertThat(down.getDeviceUri()).isEmpty();
        assertCode(() -> nexus.publishNexus(PublishNexusRequest.newBuilder().setUuid(u).setShare(ShareProtocol.NVMF)
                .build()), Status.Code.FAILED_PRECONDITION, "shut down");
        nexus.destroyNexus(DestroyNexusRequest.newBuilder().setUuid(u).build());
        assertThat(list()).isEmpty();
        assertThat(bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevsList()).extracting(b -> b.getName())
                .doesNotContain("nm0", "n0");
    }

    @Test
    void aPublishedNexusMirrorsWritesAndAFaultedChildMissesThem() throws Exception {
        String u = UUID.randomUUID().toString();
        nexus.createNexus(create("vol", u, 8 * MiB, r0.getUri(), r1.getUri()).build());
        Nexus p = nexus.publishNexus(PublishNexusRequest.newBuilder().setUuid(u).setShare(ShareProtocol.NVMF)
                .setKey("ignored").addAllowedHosts(HOST).build()).getNexus();
        String uri = "nvmf://127.0.0.1:" + f.daemon.nexusAddress().getPort() + "/nqn.2019-05.io.openebs:" + u;
        assertThat(p.getDeviceUri()).isEqualTo(uri);
        assertThat(p.getAllowedHostsList()).containsExactly(HOST);
        assertThat(only().getDeviceUri()).isEqualTo(uri);
        // Publishing again sets the hosts: any host now.
        assertThat(nexus.publishNexus(PublishNexusRequest.newBuilder().setUuid("vol").setShare(ShareProtocol.NVMF)
                .build()).getNexus().getAllowedHostsList()).isEmpty();

        Engine e = f.daemon.engine();
        String remote = bdevs.create(CreateBdevRequest.newBuilder().setUri(uri + "?hostnqn=" + HOST).build())
                .getBdev().getName();
        write(e, remote, 0, 1);
        assertThat(readsBack(e, remote, 0, 1)).isTrue();

        // r1 faulted: DEGRADED, the IO goes on to r0 alone.
        Nexus faulted = nexus.faultNexusChild(FaultNexusChildRequest.newBuilder().setUuid(u).setUri(r1.getUri())
                .build()).getNexus();
        assertThat(faulted.getState()).isEqualTo(NexusState.NEXUS_DEGRADED);
        assertChild(faulted.getChildren(0), r0.getUri(), ChildState.CHILD_STATE_ONLINE,
                ChildStateReason.CHILD_STATE_REASON_NONE);
        assertChild(faulted.getChildren(1), r1.getUri(), ChildState.CHILD_STATE_FAULTED,
                ChildStateReason.CHILD_STATE_REASON_BY_CLIENT);
        assertThat(only()).isEqualTo(faulted);
        write(e, remote, BLOCKS, 2);
        assertThat(readsBack(e, remote, BLOCKS, 2)).isTrue();
        // The fault is on disk, under the state directory, before the call answered.
        HealthRecord h = health().load(u).orElseThrow();
        assertThat(h.cleanShutdown()).isFalse();
        assertThat(h.children()).extracting(HealthRecord.ChildHealth::uuid).containsExactly(r0.getUuid(), r1.getUuid());
        assertThat(h.children()).extracting(HealthRecord.ChildHealth::healthy).containsExactly(true, false);
        assertCode(() -> nexus.faultNexusChild(FaultNexusChildRequest.newBuilder().setUuid(u).setUri(r0.getUri())
                .build()), Status.Code.FAILED_PRECONDITION, "last healthy");
        assertCode(() -> nexus.removeChildNexus(RemoveChildNexusRequest.newBuilder().setUuid(u).setUri(r0.getUri())
                .build()), Status.Code.FAILED_PRECONDITION, "last healthy");

        // Online again: it takes writes and is rebuilt (in full: it was faulted by the client), then healthy.
        Nexus online = nexus.childOperation(ChildOperationRequest.newBuilder().setNexusUuid(u).setUri(r1.getUri())
                .setAction(ChildAction.Online).build()).getNexus();
        Child back = online.getChildren(1);
        assertThat(back.getState() == ChildState.CHILD_STATE_DEGRADED && back.getRebuildProgress() >= 0
                || back.getState() == ChildState.CHILD_STATE_ONLINE).as("%s", back).isTrue();
        awaitRebuilt(u, r1.getUri());
        RebuildHistoryRecord rebuilt = nexus.listRebuildHistory(ListRebuildHistoryRequest.newBuilder().setUuid(u)
                .build()).getHistories(0).getRecords(0);
        assertThat(rebuilt.getChildUri()).isEqualTo(r1.getUri());
        assertThat(rebuilt.getSrcUri()).isEqualTo(r0.getUri());
        assertThat(rebuilt.getState()).isEqualTo(RebuildJobState.Completed);
        assertThat(rebuilt.getIsPartial()).isFalse();
        assertThat(rebuilt.getBlocksTotal()).isEqualTo(8 * MiB / BLOCK);
        assertThat(rebuilt.getBlocksRecovered()).isEqualTo(8 * MiB / BLOCK);
        write(e, remote, 2 * BLOCKS, 3);
        assertThat(readsBack(e, remote, 2 * BLOCKS, 3)).isTrue();
        // Offline: FAULTED, CLOSED.
        Nexus offline = nexus.childOperation(ChildOperationRequest.newBuilder().setNexusUuid(u).setUri(r1.getUri())
                .setAction(ChildAction.Offline).build()).getNexus();
        assertChild(offline.getChildren(1), r1.getUri(), ChildState.CHILD_STATE_FAULTED,
                ChildStateReason.CHILD_STATE_REASON_CLOSED);

        // The nexus's IO counted under its name and UUID.
        IoStats s = StatsRpcGrpc.newBlockingStub(f.channel).getNexusIoStats(ListStatsOption.newBuilder().setName(u)
                .build()).getStats(0);
        assertThat(s.getName()).isEqualTo("vol");
        assertThat(s.getUuid()).isEqualTo(u);
        assertThat(s.getBytesWritten()).isEqualTo(3L * BLOCKS * BLOCK);
        assertThat(s.getBytesRead()).isEqualTo(3L * BLOCKS * BLOCK);
        assertCode(() -> StatsRpcGrpc.newBlockingStub(f.channel).getNexusIoStats(ListStatsOption.newBuilder()
                .setName("nope").build()), Status.Code.NOT_FOUND, "nope");

        bdevs.destroy(DestroyBdevRequest.newBuilder().setUri(remote).build());
        assertThat(nexus.unpublishNexus(UnpublishNexusRequest.newBuilder().setUuid(u).build()).getNexus()
                .getDeviceUri()).isEmpty();
        // Shut down before destroyed: a DestroyNexus or ShutdownNexus alone may leave
        // clean_shutdown=false on disk (the engine bug cleanShutdownIsPersisted shows); the
        // second of the two writes the clean record last.
        nexus.shutdownNexus(ShutdownNexusRequest.newBuilder().setUuid(u).build());
        nexus.destroyNexus(DestroyNexusRequest.newBuilder().setUuid(u).build());
        assertThat(health().load(u).orElseThrow().cleanShutdown()).as("destroyed: a clean shutdown, kept").isTrue();

        // Each replica read directly: r0 has every write; r1 all but the one made while it was faulted.
        String b0 = r0.getUuid();
        String b1 = r1.getUuid();
        assertThat(readsBack(e, b0, 0, 1)).isTrue();
        assertThat(readsBack(e, b0, BLOCKS, 2)).isTrue();
        assertThat(readsBack(e, b0, 2 * BLOCKS, 3)).isTrue();
        assertThat(readsBack(e, b1, 0, 1)).isTrue();
        assertThat(readsBack(e, b1, BLOCKS, 2)).as("written while r1 was faulted, copied by its rebuild").isTrue();
        assertThat(readsBack(e, b1, 2 * BLOCKS, 3)).as("written once r1 was back").isTrue();
    }

    @Test
    void aRemoteChildIsReachedByItsNvmfUriAndFaultedWhenItsTargetGoes() {
        // Another node: an engine in this process exporting a RAM disk as Mayastor shares a replica.
        Engine far = Engine.start(io.panastor.reactor.Reactors.builder().count(1).pin(false));
        String childUri;
        try {
            Engine.await(far.createBdev("malloc:///far0?size_mb=16&blk_size=4096"));
            java.net.InetSocketAddress at = Engine.await(far.addListener("127.0.0.1", 0));
            String nqn = Shares.NQN_PREFIX + "far0";
            Engine.await(far.createSubsystem(nqn, "far0serial0000000000", "test", true, List.of()));
            Engine.await(far.addNamespace(nqn, "far0", 1));
            childUri = "nvmf://127.0.0.1:" + at.getPort() + "/" + nqn + "?ctrlr_loss_timeout_ms=200";
            String u = UUID.randomUUID().toString();
            Nexus n = nexus.createNexus(create("vol", u, 8 * MiB, r0.getUri(), childUri).build()).getNexus();
            assertThat(n.getState()).isEqualTo(NexusState.NEXUS_ONLINE);
            assertChild(n.getChildren(1), childUri, ChildState.CHILD_STATE_ONLINE,
                    ChildStateReason.CHILD_STATE_REASON_NONE);
            Engine e = f.daemon.engine();
            write(e, "vol", 0, 4);
            assertThat(readsBack(e, "vol", 0, 4)).isTrue();
            MemorySegment got = arena.allocate((long) BLOCKS * BLOCK, BLOCK);
            assertThat(Engine.await(far.read("far0", 0, BLOCKS, got)).ok()).isTrue();
            assertThat(got.mismatch(pattern(0, 4))).as("the write reached the remote child").isEqualTo(-1);
        } finally {
            far.close();
        }
        // Its target gone: the next write faults it and goes on to the local replica alone.
        Engine e = f.daemon.engine();
        write(e, "vol", BLOCKS, 5);
        Nexus after = only();
        assertThat(after.getState()).isEqualTo(NexusState.NEXUS_DEGRADED);
        assertThat(after.getChildren(1).getState()).isEqualTo(ChildState.CHILD_STATE_FAULTED);
        assertThat(after.getChildren(1).getStateReason()).as(after.toString()).isIn(
                ChildStateReason.CHILD_STATE_REASON_HOT_REMOVED, ChildStateReason.CHILD_STATE_REASON_IO_FAILURE,
                ChildStateReason.CHILD_STATE_REASON_TIMED_OUT);
        assertThat(readsBack(e, "vol", BLOCKS, 5)).isTrue();
        nexus.destroyNexus(DestroyNexusRequest.newBuilder().setUuid("vol").build());
        assertThat(bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevsList()).extracting(b -> b.getName())
                .as("the initiator bdev the nexus made for its remote child went with it")
                .containsExactlyInAnyOrder("d0", "d1", r0.getUuid(), r1.getUuid());
        assertThat(readsBack(e, r0.getUuid(), BLOCKS, 5)).isTrue();
    }

    @Test
    void writesInFlightWhileAChildIsFaultedAndBroughtBackAllSucceed() throws Exception {
        String u = UUID.randomUUID().toString();
        nexus.createNexus(create("vol", u, 8 * MiB, r0.getUri(), r1.getUri()).build());
        String uri = nexus.publishNexus(PublishNexusRequest.newBuilder().setUuid(u).setShare(ShareProtocol.NVMF).build())
                .getNexus().getDeviceUri();
        Engine e = f.daemon.engine();
        String remote = bdevs.create(CreateBdevRequest.newBuilder().setUri(uri).build()).getBdev().getName();
        int writes = 2 * (int) (8 * MiB / ((long) BLOCKS * BLOCK));   // the whole nexus, twice
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(4);
        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        Thread writer = Thread.ofVirtual().start(() -> {
            for (int i = 0; i < writes; i++) {
                long lba = (long) (i % (writes / 2)) * BLOCKS;
                if (!Engine.await(e.write(remote, lba, BLOCKS, pattern(lba, i < writes / 2 ? 6 : 7))).ok()) {
                    failed.incrementAndGet();
                }
                started.countDown();
            }
        });
        assertThat(started.await(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        ChildAction[] steps = {ChildAction.OfflinePermanent, ChildAction.Online, ChildAction.Offline, ChildAction.Online};
        for (ChildAction a : steps) {
            nexus.childOperation(ChildOperationRequest.newBuilder().setNexusUuid(u).setUri(r1.getUri()).setAction(a)
                    .build());
        }
        writer.join(java.util.concurrent.TimeUnit.SECONDS.toMillis(60));
        assertThat(writer.isAlive()).isFalse();
        assertThat(failed.get()).as("writes that failed while r1 went out and back").isZero();
        assertThat(Engine.await(e.flush(remote)).ok()).isTrue();
        for (int i = writes / 2; i < writes; i++) {
            long lba = (long) (i - writes / 2) * BLOCKS;
            assertThat(readsBack(e, remote, lba, 7)).as("second pass write at %d", lba).isTrue();
        }
        // Back online, r1 is rebuilt (a full rebuild: it was faulted by the client on the way) and healthy again.
        awaitRebuilt(u, r1.getUri());
        Nexus n = only();
        assertThat(n.getState()).isEqualTo(NexusState.NEXUS_ONLINE);
        assertChild(n.getChildren(1), r1.getUri(), ChildState.CHILD_STATE_ONLINE, ChildStateReason.CHILD_STATE_REASON_NONE);
        assertThat(n.getChildren(1).getRebuildProgress()).isEqualTo(-1);
        bdevs.destroy(DestroyBdevRequest.newBuilder().setUri(remote).build());
        nexus.destroyNexus(DestroyNexusRequest.newBuilder().setUuid(u).build());
        for (int i = writes / 2; i < writes; i++) {
            long lba = (long) (i - writes / 2) * BLOCKS;
            assertThat(readsBack(e, r0.getUuid(), lba, 7)).as("r0, never out, at %d", lba).isTrue();
            assertThat(readsBack(e, r1.getUuid(), lba, 7)).as("r1, rebuilt, at %d", lba).isTrue();
        }
    }

    /**
     * DestroyNexus, ShutdownNexus and a daemon stop each leave a record that says the shutdown
     * was clean, however the health thread's own writes fall around it (it once wrote an
     * unclean record over the clean one).
     */
    @Test
    void cleanShutdownIsPersisted() throws Exception {
        for (int i = 0; i < 20; i++) {
            String u = UUID.randomUUID().toString();
            nexus.createNexus(create("c" + i, u, MiB, "malloc:///cc" + i + "?size_mb=1").build());
            nexus.destroyNexus(DestroyNexusRequest.newBuilder().setUuid(u).build());
            assertThat(health().load(u).orElseThrow().cleanShutdown()).as("destroy %d", i).isTrue();
            String v = UUID.randomUUID().toString();
            nexus.createNexus(create("s" + i, v, MiB, "malloc:///cs" + i + "?size_mb=1").build());
            nexus.shutdownNexus(ShutdownNexusRequest.newBuilder().setUuid(v).build());
            assertThat(health().load(v).orElseThrow().cleanShutdown()).as("shutdown %d", i).isTrue();
        }
    }

    @Test
    void resizeGrowsTheNexusOnceItsReplicasGrew() {
        String u = UUID.randomUUID().toString();
        nexus.createNexus(create("vol", u, 8 * MiB, r0.getUri(), r1.getUri()).build());
        Nexus p = nexus.publishNexus(PublishNexusRequest.newBuilder().setUuid(u).setShare(ShareProtocol.NVMF).build())
                .getNexus();
        Engine e = f.daemon.engine();
        String remote = bdevs.create(CreateBdevRequest.newBuilder().setUri(p.getDeviceUri()).build()).getBdev().getName();
        assertThat(e.bdevs().get(remote).sizeBytes()).isEqualTo(8 * MiB);

        assertCode(() -> nexus.resizeNexus(ResizeNexusRequest.newBuilder().setUuid(u).setRequestedSize(16 * MiB).build()),
                Status.Code.INVALID_ARGUMENT, "smaller");
        for (Replica r : List.of(r0, r1)) {
            replicas.resizeReplica(ResizeReplicaRequest.newBuilder().setUuid(r.getUuid()).setRequestedSize(16 * MiB)
                    .build());
        }
        Nexus grown = nexus.resizeNexus(ResizeNexusRequest.newBuilder().setUuid(u).setRequestedSize(16 * MiB).build())
                .getNexus();
        assertThat(grown.getSize()).isEqualTo(16 * MiB);
        assertThat(only().getSize()).isEqualTo(16 * MiB);
        assertThat(e.bdevs().get("vol").sizeBytes()).isEqualTo(16 * MiB);
        // The engine's initiator sends no Asynchronous Event Request, so the namespace-changed
        // notice never reaches it and its bdev keeps the size it identified. A host that
        // connects again sees the new size, and a write past the old end goes through.
        bdevs.destroy(DestroyBdevRequest.newBuilder().setUri(remote).build());
        String again = bdevs.create(CreateBdevRequest.newBuilder().setUri(p.getDeviceUri()).build()).getBdev().getName();
        assertThat(e.bdevs().get(again).sizeBytes()).isEqualTo(16 * MiB);
        long past = 12 * MiB / BLOCK;
        write(e, again, past, 9);
        assertThat(readsBack(e, again, past, 9)).isTrue();
        bdevs.destroy(DestroyBdevRequest.newBuilder().setUri(again).build());
        assertThat(readsBack(e, r0.getUuid(), past, 9)).as("on replica 0").isTrue();
        assertThat(readsBack(e, r1.getUuid(), past, 9)).as("on replica 1").isTrue();
    }

    FileHealthStore health() throws java.io.IOException {
        return new FileHealthStore(dir.resolve("state").resolve(EngineDaemon.NEXUS_HEALTH_DIR));
    }

    MemorySegment pattern(long lba, long seed) {
        MemorySegment s = arena.allocate((long) BLOCKS * BLOCK, BLOCK);
        new BlockPattern().fill(s, 0, BLOCK, lba, BLOCKS, seed);
        return s;
    }

    void write(Engine e, String bdev, long lba, long seed) {
        assertThat(Engine.await(e.write(bdev, lba, BLOCKS, pattern(lba, seed))).ok()).as("write at %d", lba).isTrue();
        assertThat(Engine.await(e.flush(bdev)).ok()).isTrue();
    }

    boolean readsBack(Engine e, String bdev, long lba, long seed) {
        MemorySegment got = arena.allocate((long) BLOCKS * BLOCK, BLOCK);
        assertThat(Engine.await(e.read(bdev, lba, BLOCKS, got)).ok()).as("read at %d", lba).isTrue();
        return got.mismatch(pattern(lba, seed)) == -1;
    }
}
