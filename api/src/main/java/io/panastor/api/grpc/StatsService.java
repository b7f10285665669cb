package io.panastor.api.grpc;

import com.google.protobuf.Empty;
import io.grpc.stub.StreamObserver;
import io.panastor.api.v1.BdevIoStatsResponse;
import io.panastor.api.v1.IoStats;
import io.panastor.api.v1.ListStatsOption;
import io.panastor.api.v1.NexusIoStatsResponse;
import io.panastor.api.v1.PoolIoStatsResponse;
import io.panastor.api.v1.ReplicaIoStatsResponse;
import io.panastor.api.v1.StatsRpcGrpc;
import io.panastor.engine.Engine;
import java.util.List;

/**
 * {@code mayastor.v1.StatsRpc}: IO counters and latencies, gathered from every reactor by
 * message at each call. Pools, replicas and nexuses have none yet (there are none): their
 * lists are empty, and a name asked for is NOT_FOUND.
 */
public final class StatsService extends StatsRpcGrpc.StatsRpcImplBase {
    /** Panastor's latency ticks are nanoseconds. */
    public static final long TICK_RATE = 1_000_000_000L;

    private final Engine engine;

    public StatsService(Engine engine) {
        this.engine = engine;
    }

    @Override
    public void getBdevIoStats(ListStatsOption request, StreamObserver<BdevIoStatsResponse> out) {
        Replies.reply(out, engine::ioStats, all -> {
            BdevIoStatsResponse.Builder r = BdevIoStatsResponse.newBuilder();
            for (io.panastor.engine.stats.IoStats s : all) {
                if (!request.hasName() || request.getName().equals(s.name()) || request.getName().equals(s.uuid())) {
                    r.addStats(toProto(s));
                }
            }
            if (request.hasName() && r.getStatsCount() == 0) {
                throw GrpcErrors.notFound("no bdev '" + request.getName() + "': BdevRpc.List shows the bdevs there are");
            }
            return r.build();
        });
    }

    @Override
    public void getPoolIoStats(ListStatsOption request, StreamObserver<PoolIoStatsResponse> out) {
        Replies.now(out, () -> {
            none(request, "pool");
            return PoolIoStatsResponse.getDefaultInstance();
        });
    }

    @Override
    public void getReplicaIoStats(ListStatsOption request, StreamObserver<ReplicaIoStatsResponse> out) {
        Replies.now(out, () -> {
            none(request, "replica");
            return ReplicaIoStatsResponse.getDefaultInstance();
        });
    }

    @Override
    public void getNexusIoStats(ListStatsOption request, StreamObserver<NexusIoStatsResponse> out) {
        Replies.now(out, () -> {
            none(request, "nexus");
            return NexusIoStatsResponse.getDefaultInstance();
        });
    }

    private static void none(ListStatsOption request, String kind) {
        if (request.hasName()) {
            throw GrpcErrors.notFound("no " + kind + " '" + request.getName() + "'");
        }
    }

    @Override
    public void resetIoStats(Empty request, StreamObserver<Empty> out) {
        Replies.reply(out, engine::resetIoStats, v -> Empty.getDefaultInstance());
    }

    static IoStats toProto(io.panastor.engine.stats.IoStats s) {
        return IoStats.newBuilder()
                .setName(s.name())
                .setUuid(s.uuid())
                .setNumReadOps(s.numReadOps())
                .setBytesRead(s.bytesRead())
                .setNumWriteOps(s.numWriteOps())
                .setBytesWritten(s.bytesWritten())
                .setNumUnmapOps(s.numUnmapOps())
                .setBytesUnmapped(s.bytesUnmapped())
                .setReadLatencyTicks(s.readLatencyNanos())
                .setWriteLatencyTicks(s.writeLatencyNanos())
                .setUnmapLatencyTicks(s.unmapLatencyNanos())
                .setMaxReadLatencyTicks(s.maxReadLatencyNanos())
                .setMinReadLatencyTicks(s.minReadLatencyNanos())
                .setMaxWriteLatencyTicks(s.maxWriteLatencyNanos())
                .setMinWriteLatencyTicks(s.minWriteLatencyNanos())
                .setMaxUnmapLatencyTicks(s.maxUnmapLatencyNanos())
                .setMinUnmapLatencyTicks(s.minUnmapLatencyNanos())
                .setTickRate(TICK_RATE)
                .setNumErrors(s.numErrors())
                .build();
    }

    static List<IoStats> toProto(List<io.panastor.engine.stats.IoStats> all) {
        return all.stream().map(StatsService::toProto).toList();
    }
}
