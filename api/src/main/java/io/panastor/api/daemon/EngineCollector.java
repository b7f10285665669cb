package io.panastor.api.daemon;

import io.panastor.engine.Engine;
import io.panastor.engine.stats.IoStats;
import io.panastor.engine.stats.ReactorInfo;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.panastor.engine.rebuild.RebuildCounters;
import io.panastor.engine.rebuild.RebuildState;
import io.panastor.engine.rebuild.RebuildStats;
import java.util.EnumMap;
import java.util.Map;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.panastor.engine.lvs.PoolInfo;
import io.panastor.engine.lvs.PoolState;
import io.panastor.engine.lvs.ReplicaInfo;
import io.panastor.engine.nexus.NexusInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The engine's metrics for a scrape, read live: the bdevs' IO counters by one message to each
 * reactor (the data path only ever bumps its own counters), under Mayastor's names for them
 * ({@code num_read_ops}, {@code bytes_read}, ..., {@code read_latency_us}) prefixed by the
 * resource kind ({@code bdev_}, as Mayastor's exporter writes {@code diskpool_}), labelled
 * {@code name} and {@code node}; the pools', replicas' and volumes' (nexuses') as Mayastor's
 * exporter names them; and the reactors' load.
 */
final class EngineCollector implements MultiCollector {
    /** How long a scrape waits for the reactors' answer. */
    static final long GATHER_SECONDS = 5;

    /** The counters Mayastor's exporter repeats per replica and per volume, with their help. */
    private static final String[][] COUNTERS = {
            {"num_read_ops", "Number of read operations"}, {"bytes_read", "Total bytes read"},
            {"num_write_ops", "Number of write operations"}, {"bytes_written", "Total bytes written"},
            {"read_latency_us", "Total read latency, in microseconds"},
            {"write_latency_us", "Total write latency, in microseconds"}};
    private static final List<ToDoubleFunction<IoStats>> VALUES = List.of(IoStats::numReadOps, IoStats::bytesRead,
            IoStats::numWriteOps, IoStats::bytesWritten, s -> s.readLatencyNanos() / 1_000.0,
            s -> s.writeLatencyNanos() / 1_000.0);

    private final Engine engine;
    private final String node;

    EngineCollector(Engine engine, String node) {
        this.engine = engine;
        this.node = node;
    }

    @Override
    public MetricSnapshots collect() {
        List<IoStats> stats;
        try {
            stats = engine.ioStats().get(GATHER_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while gathering IO statistics", e);
        } catch (Exception e) {
            throw new IllegalStateException("gathering IO statistics: " + e, e);
        }
        MetricSnapshots.Builder b = MetricSnapshots.builder();
        b.metricSnapshot(bdevGauge("bdev_num_read_ops", "Number of read operations", stats, IoStats::numReadOps));
        b.metricSnapshot(bdevGauge("bdev_bytes_read", "Total bytes read", stats, IoStats::bytesRead));
        b.metricSnapshot(bdevGauge("bdev_num_write_ops", "Number of write operations", stats, IoStats::numWriteOps));
        b.metricSnapshot(bdevGauge("bdev_bytes_written", "Total bytes written", stats, IoStats::bytesWritten));
        b.metricSnapshot(bdevGauge("bdev_num_unmap_ops", "Number of unmap operations", stats, IoStats::numUnmapOps));
        b.metricSnapshot(bdevGauge("bdev_bytes_unmapped", "Total bytes unmapped", stats, IoStats::bytesUnmapped));
        b.metricSnapshot(bdevGauge("bdev_read_latency_us", "Total read latency, in microseconds", stats,
                s -> s.readLatencyNanos() / 1_000.0));
        b.metricSnapshot(bdevGauge("bdev_write_latency_us", "Total write latency, in microseconds", stats,
                s -> s.writeLatencyNanos() / 1_000.0));
        b.metricSnapshot(bdevGauge("bdev_num_errors", "Number of IOs that failed", stats, IoStats::numErrors));
        pools(b);
        replicas(b, stats);
        volumes(b, stats);
        GaugeSnapshot.Builder busy = GaugeSnapshot.builder().name("panastor_reactor_busy_ratio")
                .help("Share of its time a reactor spent doing work, 0 to 1");
        for (ReactorInfo r : engine.reactorInfo()) {
            busy.dataPoint(GaugeDataPointSnapshot.builder().value(r.busyFraction())
                    .labels(Labels.of("node", node, "reactor", Integer.toString(r.id()), "core", Integer.toString(r.cpu())))
                    .build());
        }
        b.metricSnapshot(busy.build());
        b.metricSnapshot(GaugeSnapshot.builder().name("panastor_nvmf_connections")
                .help("NVMe/TCP connections the target serves")
                .dataPoint(GaugeDataPointSnapshot.builder().value(engine.target().connections().size())
                        .labels(Labels.of("node", node)).build())
                .build());
        rebuilds(b);
        return b.build();
    }

    /**
     * Rebuilds: bytes rebuilt and jobs finished by state since the engine started (counters),
     * and the jobs not finished by state (a gauge).
     */
    private void rebuilds(MetricSnapshots.Builder b) {
        RebuildCounters c = engine.rebuildCounters();
        b.metricSnapshot(CounterSnapshot.builder().name("panastor_rebuild_bytes")
                .help("Bytes rebuilt (copied, or zeroed where a thin source had none) since the engine started")
                .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(c.bytesRebuilt())
                        .labels(Labels.of("node", node)).build())
                .build());
        CounterSnapshot.Builder finished = CounterSnapshot.builder().name("panastor_rebuild_jobs_finished")
                .help("Rebuild jobs that ended, by how, since the engine started");
        long[] ends = {c.completed(), c.failed(), c.stopped()};
        String[] names = {"completed", "failed", "stopped"};
        for (int i = 0; i < ends.length; i++) {
            finished.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(ends[i])
                    .labels(Labels.of("node", node, "state", names[i])).build());
        }
        b.metricSnapshot(finished.build());
        Map<RebuildState, Integer> now = new EnumMap<>(RebuildState.class);
        for (RebuildStats r : engine.rebuildJobs()) {
            now.merge(r.state(), 1, Integer::sum);
        }
        GaugeSnapshot.Builder jobs = GaugeSnapshot.builder().name("panastor_rebuild_jobs")
                .help("Rebuild jobs not finished, by state");
        for (RebuildState st : new RebuildState[] {RebuildState.QUEUED, RebuildState.RUNNING, RebuildState.PAUSED}) {
            jobs.dataPoint(GaugeDataPointSnapshot.builder().value(now.getOrDefault(st, 0))
                    .labels(Labels.of("node", node, "state", st.name().toLowerCase())).build());
        }
        b.metricSnapshot(jobs.build());
    }

    /** Mayastor's exporter's pool gauges: sizes in bytes and the state (0 unknown, 1 online, 2 degraded, 3 faulted). */
    private void pools(MetricSnapshots.Builder b) {
        List<PoolInfo> pools = engine.listPools();
        b.metricSnapshot(poolGauge("disk_pool_total_size_bytes", "Total size of the pool in bytes", pools,
                PoolInfo::capacityBytes));
        b.metricSnapshot(poolGauge("disk_pool_used_size_bytes", "Used size of the pool in bytes", pools,
                PoolInfo::usedBytes));
        b.metricSnapshot(poolGauge("disk_pool_committed_size_bytes", "Committed size of the pool in bytes", pools,
                PoolInfo::committedBytes));
        b.metricSnapshot(poolGauge("disk_pool_status", "Status of the pool: 0 unknown, 1 online, 2 degraded, 3 faulted",
                pools, p -> p.state() == PoolState.ONLINE ? 1 : 3));
    }

    private GaugeSnapshot poolGauge(String name, String help, List<PoolInfo> pools, ToDoubleFunction<PoolInfo> value) {
        GaugeSnapshot.Builder g = GaugeSnapshot.builder().name(name).help(help);
        for (PoolInfo p : pools) {
            g.dataPoint(GaugeDataPointSnapshot.builder().value(value.applyAsDouble(p))
                    .labels(Labels.of("node", node, "name", p.name())).build());
        }
        return g.build();
    }

    /**
     * The IO counters of the bdevs that are replicas again, as {@code replica_*}, labelled with
     * the replica's name, its pool and its owner (a volume: {@code pv_name}).
     */
    private void replicas(MetricSnapshots.Builder b, List<IoStats> stats) {
        Map<String, ReplicaInfo> byBdev = new HashMap<>();
        for (ReplicaInfo r : engine.listReplicas()) {
            byBdev.put(r.bdevName(), r);
        }
        record Point(ReplicaInfo replica, IoStats stats) {
        }
        List<Point> points = new ArrayList<>();
        for (IoStats s : stats) {
            ReplicaInfo r = byBdev.get(s.name());
            if (r != null) {
                points.add(new Point(r, s));
            }
        }
        for (int i = 0; i < COUNTERS.length; i++) {
            GaugeSnapshot.Builder g = GaugeSnapshot.builder().name("replica_" + COUNTERS[i][0]).help(COUNTERS[i][1]);
            for (Point p : points) {
                g.dataPoint(GaugeDataPointSnapshot.builder().value(VALUES.get(i).applyAsDouble(p.stats()))
                        .labels(Labels.of("node", node, "name", p.replica().name(), "pool_id", p.replica().pool(),
                                "pv_name", p.replica().entityId() == null ? "" : p.replica().entityId()))
                        .build());
            }
            b.metricSnapshot(g.build());
        }
    }

    /**
     * The IO counters of the nexuses' bdevs, as Mayastor's exporter reports a volume target's:
     * {@code volume_*} labelled {@code node} and {@code pv_name} (the nexus's UUID, its volume's).
     */
    private void volumes(MetricSnapshots.Builder b, List<IoStats> stats) {
        Map<String, IoStats> byName = new HashMap<>();
        for (IoStats s : stats) {
            byName.put(s.name(), s);
        }
        record Point(NexusInfo nexus, IoStats stats) {
        }
        List<Point> points = new ArrayList<>();
        for (NexusInfo n : engine.listNexuses()) {
            IoStats s = byName.get(n.name());
            if (s != null) {
                points.add(new Point(n, s));
            }
        }
        for (int i = 0; i < COUNTERS.length; i++) {
            GaugeSnapshot.Builder g = GaugeSnapshot.builder().name("volume_" + COUNTERS[i][0])
                    .help(COUNTERS[i][1] + " through the volume target");
            for (Point p : points) {
                g.dataPoint(GaugeDataPointSnapshot.builder().value(VALUES.get(i).applyAsDouble(p.stats()))
                        .labels(Labels.of("node", node, "pv_name", p.nexus().uuid().toString())).build());
            }
            b.metricSnapshot(g.build());
        }
    }

    private GaugeSnapshot bdevGauge(String name, String help, List<IoStats> stats, ToDoubleFunction<IoStats> value) {
        GaugeSnapshot.Builder g = GaugeSnapshot.builder().name(name).help(help);
        for (IoStats s : stats) {
            g.dataPoint(GaugeDataPointSnapshot.builder().value(value.applyAsDouble(s))
                    .labels(Labels.of("name", s.name(), "node", node)).build());
        }
        return g.build();
    }
}
