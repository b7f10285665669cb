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
import io.panastor.engine.lvs.PoolInfo;
import io.panastor.engine.lvs.ReplicaInfo;
import io.panastor.engine.nexus.NexusInfo;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code mayastor.v1.StatsRpc}: IO counters and latencies, gathered from every reactor by
 * message at each call: a pool's are its disk bdev's, a replica's and a nexus's their bdev's.
 * A name asked for that is not there is NOT_FOUND.
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

    /** A pool's counters are its disk's (all its replicas' IO and its metadata), under the pool's name. */
    @Override
    public void getPoolIoStats(ListStatsOption request, StreamObserver<PoolIoStatsResponse> out) {
        Replies.reply(out, engine::ioStats, all -> {
            PoolIoStatsResponse.Builder r = PoolIoStatsResponse.newBuilder();
            Map<String, io.panastor.engine.stats.IoStats> byName = byName(all);
            for (PoolInfo p : engine.listPools()) {
                if (request.hasName() && !request.getName().equals(p.name())
                        && !request.getName().equals(p.uuid().toString())) {
                    continue;
                }
                io.panastor.engine.stats.IoStats s = byName.get(p.diskBdev());
                if (s != null) {
                    r.addStats(toProto(s).toBuilder().setName(p.name()).setUuid(p.uuid().toString()));
                }
            }
            if (request.hasName() && r.getStatsCount() == 0) {
                throw GrpcErrors.notFound("no pool '" + request.getName() + "'");
            }
            return r.build();
        });
    }

    /** A replica's counters are its bdev's, under the replica's name. */
    @Override
    public void getReplicaIoStats(ListStatsOption request, StreamObserver<ReplicaIoStatsResponse> out) {
        Replies.reply(out, engine::ioStats, all -> {
            ReplicaIoStatsResponse.Builder r = ReplicaIoStatsResponse.newBuilder();
            Map<String, io.panastor.engine.stats.IoStats> byName = byName(all);
            for (ReplicaInfo rep : engine.listReplicas()) {
                if (request.hasName() && !request.getName().equals(rep.name())
                        && !request.getName().equals(rep.uuid().toString())) {
                    continue;
                }
                io.panastor.engine.stats.IoStats s = byName.get(rep.bdevName());
                if (s != null) {
                    r.addStats(toProto(s).toBuilder().setName(rep.name()));
                }
            }
            if (request.hasName() && r.getStatsCount() == 0) {
                throw GrpcErrors.notFound("no replica '" + request.getName() + "'");
            }
            return r.build();
        });
    }

    /** A nexus's counters are its bdev's (the IO its hosts sent), under its name, with its UUID. */
    @Override
    public void getNexusIoStats(ListStatsOption request, StreamObserver<NexusIoStatsResponse> out) {
        Replies.reply(out, engine::ioStats, all -> {
            NexusIoStatsResponse.Builder r = NexusIoStatsResponse.newBuilder();
            Map<String, io.panastor.engine.stats.IoStats> byName = byName(all);
            for (NexusInfo n : engine.listNexuses()) {
                if (request.hasName() && !request.getName().equals(n.name())
                        && !request.getName().equalsIgnoreCase(n.uuid().toString())) {
                    continue;
                }
                io.panastor.engine.stats.IoStats s = byName.get(n.name());
                if (s != null) {
                    r.addStats(toProto(s).toBuilder().setName(n.name()).setUuid(n.uuid().toString()));
                }
            }
            if (request.hasName() && r.getStatsCount() == 0) {
                throw GrpcErrors.notFound("no nexus '" + request.getName() + "'");
            }
            return r.build();
        });
    }

    @Override
    public void resetIoStats(Empty request, StreamObserver<Empty> out) {
        Replies.reply(out, engine::resetIoStats, v -> Empty.getDefaultInstance());
    }

    private static Map<String, io.panastor.engine.stats.IoStats> byName(List<io.panastor.engine.stats.IoStats> all) {
        Map<String, io.panastor.engine.stats.IoStats> m = new HashMap<>();
        for (io.panastor.engine.stats.IoStats s : all) {
            m.put(s.name(), s);
        }
        return m;
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
