package io.panastor.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.panastor.api.daemon.EngineDaemon;
import io.panastor.api.v1.AddChildNexusRequest;
import io.panastor.api.v1.BdevRpcGrpc;
import io.panastor.api.v1.Child;
import io.panastor.api.v1.CreateBdevRequest;
import io.panastor.api.v1.CreateNexusRequest;
import io.panastor.api.v1.FaultNexusChildRequest;
import io.panastor.api.v1.ListNexusOptions;
import io.panastor.api.v1.ListRebuildHistoryRequest;
import io.panastor.api.v1.Nexus;
import io.panastor.api.v1.NexusRpcGrpc;
import io.panastor.api.v1.NexusState;
import io.panastor.api.v1.PauseRebuildRequest;
import io.panastor.api.v1.RebuildHistoryRecord;
import io.panastor.api.v1.RebuildJobState;
import io.panastor.api.v1.RebuildStatsRequest;
import io.panastor.api.v1.RebuildStatsResponse;
import io.panastor.api.v1.ResumeRebuildRequest;
import io.panastor.api.v1.StartRebuildRequest;
import io.panastor.api.v1.StopRebuildRequest;
import io.panastor.engine.Await;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.BlockPattern;
import io.panastor.engine.rebuild.FileRebuildHistory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NexusRpc's rebuild calls through a real gRPC server: a job's stats and its progress in
 * ListNexus, pause, resume, stop and start, a source faulted under it, the history (on disk
 * under the state directory), and every error's code. The job's first source is slow (a delay
 * bdev, 4 KiB segments one at a time), so it is still running when the calls reach it; a
 * second, fast child takes over once the slow one is faulted.
 */
class RebuildRpcTest {
    static final long MiB = 1L << 20;
    static final int BLOCK = 4096;

    @TempDir
    Path dir;
    DaemonFixture f;
    NexusRpcGrpc.NexusRpcBlockingStub nexus;
    final Arena arena = Arena.ofShared();

    @BeforeEach
    void start() {
        f = new DaemonFixture(dir.resolve("state"), false,
                new EngineDaemon.RebuildOptions(4, Duration.ofMinutes(10), 4096, 1));
        nexus = NexusRpcGrpc.newBlockingStub(f.channel);
    }

    @AfterEach
    void stop() throws InterruptedException {
        f.close();
        arena.close();
    }

    private RebuildStatsResponse stats(String u, String uri) {
        return nexus.getRebuildStats(RebuildStatsRequest.newBuilder().setNexusUuid(u).setUri(uri).build());
    }

    private RebuildStatsResponse awaitStats(String u, String uri, Predicate<RebuildStatsResponse> until) {
        Await.until("the rebuild of " + uri + " as asked", Duration.ofSeconds(60), () -> until.test(stats(u, uri)));
        return stats(u, uri);
    }

    private Nexus only() {
        List<Nexus> all = nexus.listNexus(ListNexusOptions.getDefaultInstance()).getNexusListList();
        assertThat(all).hasSize(1);
        return all.getFirst();
    }

    private static Child child(Nexus n, String uri) {
        return n.getChildrenList().stream().filter(c -> c.getUri().equals(uri)).findFirst().orElseThrow();
    }

    private static void assertCode(Runnable call, Status.Code code, String text) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(text);
        });
    }

    @Test
    void aRebuildIsSeenPausedResumedStoppedAndStartedAndSwitchesSourceWhenItsSourceIsFaulted() throws Exception {
        Engine e = f.daemon.engine();
        BdevRpcGrpc.BdevRpcBlockingStub bdevs = BdevRpcGrpc.newBlockingStub(f.channel);
        bdevs.create(CreateBdevRequest.newBuilder().setUri("malloc:///slowbase?size_mb=8&blk_size=4096").build());
        bdevs.create(CreateBdevRequest.newBuilder()
                .setUri("delay:///slow?base=slowbase&read_avg_us=3000&read_p99_us=3000").build());
        bdevs.create(CreateBdevRequest.newBuilder().setUri("malloc:///fast?size_mb=8&blk_size=4096").build());
        String u = UUID.randomUUID().toString();
        String slow = "bdev:///slow";
        String fast = "bdev:///fast";
        String fresh = "malloc:///fresh?size_mb=8&blk_size=4096";
        nexus.createNexus(CreateNexusRequest.newBuilder().setName("vol").setUuid(u).setSize(8 * MiB)
                .addChildren(slow).addChildren(fast).build());
        int blocks = (int) (8 * MiB / BLOCK);
        MemorySegment data = arena.allocate(8 * MiB, BLOCK);
        new BlockPattern().fill(data, 0, BLOCK, 0, blocks, 42);
        assertThat(Engine.await(e.write("vol", 0, blocks, data)).ok()).isTrue();

        Nexus added = nexus.addChildNexus(AddChildNexusRequest.newBuilder().setUuid(u).setUri(fresh).build()).getNexus();
        assertThat(added.getState()).isEqualTo(NexusState.NEXUS_DEGRADED);
        assertThat(added.getRebuilds()).isEqualTo(1);
        assertThat(child(added, fresh).getRebuildProgress()).isBetween(0, 99);
        RebuildStatsResponse running = awaitStats(u, fresh, r -> r.getState() == RebuildJobState.Rebuilding);
        assertThat(running.getIsPartial()).isFalse();
        assertThat(running.getSrcUri()).isEqualTo(slow);
        assertThat(running.getBlocksTotal()).isEqualTo(blocks);
        assertThat(running.getBlocksPerTask()).isEqualTo(1);
        assertThat(running.getBlockSize()).isEqualTo(BLOCK);
        assertThat(running.getTasksTotal()).isEqualTo(1);
        assertThat(running.getSegmentsTotal()).isEqualTo(blocks);
        assertThat(running.hasStartTime()).isTrue();

        // PauseRebuild answers once the segment in flight has ended.
        nexus.pauseRebuild(PauseRebuildRequest.newBuilder().setNexusUuid(u).setUri(fresh).build());
        RebuildStatsResponse paused = stats(u, fresh);
        assertThat(paused.getState()).isEqualTo(RebuildJobState.Paused);
        assertThat(paused.getTasksActive()).isZero();
        assertThat(stats(u, fresh).getSegmentsDone()).as("no progress while paused").isEqualTo(paused.getSegmentsDone());
        assertThat(paused.getProgress()).isLessThan(100);
        nexus.resumeRebuild(ResumeRebuildRequest.newBuilder().setNexusUuid(u).setUri(fresh).build());
        assertThat(stats(u, fresh).getState()).isEqualTo(RebuildJobState.Rebuilding);

        Nexus stopped = nexus.stopRebuild(StopRebuildRequest.newBuilder().setNexusUuid(u).setUri(fresh).build())
                .getNexus();
        assertThat(child(stopped, fresh).getState()).isEqualTo(io.panastor.api.v1.ChildState.CHILD_STATE_DEGRADED);
        assertThat(child(stopped, fresh).getRebuildProgress()).isEqualTo(-1);
        assertThat(stopped.getRebuilds()).isZero();
        // No job now: Stop, Pause, Resume and GetRebuildStats are NOT_FOUND; a healthy child has nothing to rebuild.
        assertCode(() -> nexus.stopRebuild(StopRebuildRequest.newBuilder().setNexusUuid(u).setUri(fresh).build()),
                Status.Code.NOT_FOUND, "no rebuild");
        assertCode(() -> nexus.pauseRebuild(PauseRebuildRequest.newBuilder().setNexusUuid(u).setUri(fresh).build()),
                Status.Code.NOT_FOUND, "no rebuild");
        assertCode(() -> stats(u, fresh), Status.Code.NOT_FOUND, "no rebuild");
        assertCode(() -> nexus.startRebuild(StartRebuildRequest.newBuilder().setNexusUuid(u).setUri(fast).build()),
                Status.Code.FAILED_PRECONDITION, "nothing to rebuild");
        assertCode(() -> nexus.startRebuild(StartRebuildRequest.newBuilder().setNexusUuid(u).setUri("malloc:///nope")
                .build()), Status.Code.NOT_FOUND, "no child");
        assertCode(() -> nexus.startRebuild(StartRebuildRequest.newBuilder().setNexusUuid(UUID.randomUUID().toString())
                .setUri(fresh).build()), Status.Code.NOT_FOUND, "no nexus");
        assertCode(() -> nexus.startRebuild(StartRebuildRequest.newBuilder().setNexusUuid(u).build()),
                Status.Code.INVALID_ARGUMENT, "uri");

        // Started again (from the start, from the slow source), then its source is faulted: the fast one takes over.
        nexus.startRebuild(StartRebuildRequest.newBuilder().setNexusUuid(u).setUri(fresh).build());
        awaitStats(u, fresh, r -> r.getState() == RebuildJobState.Rebuilding && r.getSegmentsDone() > 0);
        nexus.faultNexusChild(FaultNexusChildRequest.newBuilder().setUuid(u).setUri(slow).build());
        // The job's end, its history saved.
        assertThat(e.rebuildEnd(u, fresh).get(60, TimeUnit.SECONDS).state())
                .isEqualTo(io.panastor.engine.rebuild.RebuildState.COMPLETED);
        assertThat(child(only(), fresh).getState()).isEqualTo(io.panastor.api.v1.ChildState.CHILD_STATE_ONLINE);

        List<RebuildHistoryRecord> h = nexus.listRebuildHistory(ListRebuildHistoryRequest.newBuilder().setUuid("vol")
                .build()).getHistories(0).getRecordsList();
        assertThat(h).extracting(RebuildHistoryRecord::getState)
                .containsExactly(RebuildJobState.Stopped, RebuildJobState.Completed);
        assertThat(h.get(0).getFailure()).contains("stopped by the client");
        assertThat(h.get(1).getSrcUri()).isEqualTo(fast);
        assertThat(h.get(1).getBlocksRecovered()).isEqualTo(blocks);
        assertThat(h.get(1).getChildUri()).isEqualTo(fresh);
        assertThat(h.get(1).hasEndTime()).isTrue();
        // Every nexus's history when no nexus is named.
        assertThat(nexus.listRebuildHistory(ListRebuildHistoryRequest.getDefaultInstance()).getHistoriesList())
                .extracting(io.panastor.api.v1.RebuildHistory::getUuid).containsExactly(u);
        // On disk, under the state directory, by the nexus's key (its UUID).
        FileRebuildHistory onDisk = new FileRebuildHistory(dir.resolve("state").resolve(EngineDaemon.REBUILD_HISTORY_DIR));
        assertThat(onDisk.load(u)).extracting(io.panastor.engine.rebuild.RebuildStats::state).containsExactly(
                io.panastor.engine.rebuild.RebuildState.STOPPED, io.panastor.engine.rebuild.RebuildState.COMPLETED);

        // The rebuilt child alone holds the data.
        MemorySegment got = arena.allocate(8 * MiB, BLOCK);
        assertThat(Engine.await(e.read("fresh", 0, blocks, got)).ok()).isTrue();
        assertThat(got.mismatch(data)).isEqualTo(-1L);
    }
}
