package io.panastor.control;

import com.google.protobuf.Empty;
import io.grpc.BindableService;
import io.grpc.stub.StreamObserver;
import io.panastor.api.control.v1.CapacityGrpc;
import io.panastor.api.control.v1.CreateDiskPoolRequest;
import io.panastor.api.control.v1.CreateVolumeRequest;
import io.panastor.api.control.v1.DeregisterRequest;
import io.panastor.api.control.v1.DiskPool;
import io.panastor.api.control.v1.DiskPoolsGrpc;
import io.panastor.api.control.v1.GetCapacityRequest;
import io.panastor.api.control.v1.GetCapacityResponse;
import io.panastor.api.control.v1.GetNexusHealthRequest;
import io.panastor.api.control.v1.GetRequest;
import io.panastor.api.control.v1.HeartbeatRequest;
import io.panastor.api.control.v1.HeartbeatResponse;
import io.panastor.api.control.v1.ListDiskPoolsResponse;
import io.panastor.api.control.v1.ListNodesResponse;
import io.panastor.api.control.v1.ListRequest;
import io.panastor.api.control.v1.ListVolumesResponse;
import io.panastor.api.control.v1.NexusHealthGrpc;
import io.panastor.api.control.v1.NexusHealthRecord;
import io.panastor.api.control.v1.Node;
import io.panastor.api.control.v1.NodeRecord;
import io.panastor.api.control.v1.NodesGrpc;
import io.panastor.api.control.v1.PoolRecord;
import io.panastor.api.control.v1.PublishVolumeRequest;
import io.panastor.api.control.v1.PutNexusHealthRequest;
import io.panastor.api.control.v1.RegisterRequest;
import io.panastor.api.control.v1.RegisterResponse;
import io.panastor.api.control.v1.RegistrationGrpc;
import io.panastor.api.control.v1.ResizeVolumeRequest;
import io.panastor.api.control.v1.ScaleVolumeRequest;
import io.panastor.api.control.v1.Volume;
import io.panastor.api.control.v1.VolumeRecord;
import io.panastor.api.control.v1.VolumesGrpc;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The control plane's gRPC services over its parts. Every call answers a value or a status with a message. */
final class ControlServices {
    private static final Logger LOG = LoggerFactory.getLogger(ControlServices.class);
    static final int MAX_PAGE = 1000;

    private final Nodes nodes;
    private final Pools pools;
    private final Volumes volumes;
    private final Duration heartbeat;
    private final InstantSource clock;
    private final CrashPoints crash;

    ControlServices(Nodes nodes, Pools pools, Volumes volumes, Duration heartbeat, InstantSource clock,
                    CrashPoints crash) {
        this.nodes = nodes;
        this.pools = pools;
        this.volumes = volumes;
        this.heartbeat = heartbeat;
        this.clock = clock;
        this.crash = crash;
    }

    List<BindableService> all() {
        return List.of(new Registration(), new Health(), new NodeService(), new PoolService(), new VolumeService(),
                new CapacityService());
    }

    static <T> void answer(StreamObserver<T> out, Supplier<T> call) {
        T v;
        try {
            v = call.get();
        } catch (ControlException e) {
            out.onError(e.toStatus());
            return;
        } catch (IllegalArgumentException e) {
            out.onError(io.grpc.Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (RuntimeException e) {
            LOG.error("unexpected failure", e);
            out.onError(io.grpc.Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
            return;
        }
        out.onNext(v);
        out.onCompleted();
    }

    /** A page of {@code items} (sorted by key): after the token's key, at most page_size (0: up to the maximum). */
    static <T> Page<T> page(List<T> items, Function<T, String> key, ListRequest r) {
        int size = r.getPageSize() == 0 || r.getPageSize() > MAX_PAGE ? MAX_PAGE : r.getPageSize();
        int from = 0;
        if (!r.getPageToken().isEmpty()) {
            String after = r.getPageToken();
            while (from < items.size() && key.apply(items.get(from)).compareTo(after) <= 0) {
                from++;
            }
        }
        int to = Math.min(items.size(), from + size);
        String next = to < items.size() ? key.apply(items.get(to - 1)) : "";
        return new Page<>(items.subList(from, to), next);
    }

    record Page<T>(List<T> items, String next) {
    }

    private final class Registration extends RegistrationGrpc.RegistrationImplBase {
        @Override
        public void register(RegisterRequest r, StreamObserver<RegisterResponse> out) {
            answer(out, () -> {
                nodes.register(r);
                return RegisterResponse.newBuilder().setHeartbeatIntervalMs(heartbeat.toMillis()).build();
            });
        }

        @Override
        public void heartbeat(HeartbeatRequest r, StreamObserver<HeartbeatResponse> out) {
            answer(out, () -> {
                nodes.heartbeat(r);
                return HeartbeatResponse.getDefaultInstance();
            });
        }

        @Override
        public void deregister(DeregisterRequest r, StreamObserver<Empty> out) {
            answer(out, () -> {
                nodes.deregister(r.getId(), r.getInstanceUuid());
                return Empty.getDefaultInstance();
            });
        }
    }

    private static String healthKey(String key) {
        if (!Nodes.ID.matcher(key).matches()) {
            throw ControlException.invalid("key '" + key + "': a nexus info key is letters, digits, '.', '_' or '-'");
        }
        return Volumes.HEALTH_PREFIX + key;
    }

    private final class Health extends NexusHealthGrpc.NexusHealthImplBase {
        @Override
        public void putNexusHealth(PutNexusHealthRequest r, StreamObserver<Empty> out) {
            answer(out, () -> {
                healthKey(r.getRecord().getKey());
                crash.reached("health.store.put");
                volumes.putHealth(r.getRecord().toBuilder().setUpdatedMs(clock.millis()).build());
                return Empty.getDefaultInstance();
            });
        }

        @Override
        public void getNexusHealth(GetNexusHealthRequest r, StreamObserver<NexusHealthRecord> out) {
            answer(out, () -> {
                healthKey(r.getKey());
                return volumes.health(r.getKey()).orElseThrow(() -> ControlException.notFound(
                        "no child health is kept for nexus key " + r.getKey()));
            });
        }

        @Override
        public void deleteNexusHealth(GetNexusHealthRequest r, StreamObserver<Empty> out) {
            answer(out, () -> {
                healthKey(r.getKey());
                volumes.deleteHealth(r.getKey(), r.getNode());
                return Empty.getDefaultInstance();
            });
        }
    }

    Node node(NodeRecord r) {
        return Node.newBuilder().setId(r.getId()).setGrpcEndpoint(r.getGrpcEndpoint()).setInstanceUuid(r.getInstanceUuid())
                .setHostnqn(r.getHostnqn()).setVersion(r.getVersion()).addAllFeatures(r.getFeaturesList())
                .putAllLabels(r.getLabelsMap()).setStatus(nodes.status(r.getId())).setCordoned(r.getCordoned())
                .setLastHeartbeatMs(nodes.lastHeartbeatMillis(r.getId())).setPools(pools.countOn(r.getId()))
                .setReplicas(volumes.replicasOn(r.getId())).setNexuses(volumes.nexusesOn(r.getId())).build();
    }

    private final class NodeService extends NodesGrpc.NodesImplBase {
        @Override
        public void listNodes(ListRequest r, StreamObserver<ListNodesResponse> out) {
            answer(out, () -> {
                Page<NodeRecord> p = page(nodes.all(), NodeRecord::getId, r);
                return ListNodesResponse.newBuilder().addAllNodes(p.items().stream().map(ControlServices.this::node)
                        .toList()).setNextPageToken(p.next()).build();
            });
        }

        @Override
        public void getNode(GetRequest r, StreamObserver<Node> out) {
            answer(out, () -> node(nodes.require(r.getName())));
        }

        @Override
        public void cordonNode(GetRequest r, StreamObserver<Node> out) {
            answer(out, () -> node(nodes.cordon(r.getName(), true)));
        }

        @Override
        public void uncordonNode(GetRequest r, StreamObserver<Node> out) {
            answer(out, () -> node(nodes.cordon(r.getName(), false)));
        }

        @Override
        public void drainNode(io.panastor.api.control.v1.DrainNodeRequest r, StreamObserver<Node> out) {
            answer(out, () -> {
                nodes.require(r.getName());
                volumes.drain(r.getName(), r.getReplicas());
                return node(nodes.require(r.getName()));
            });
        }
    }

    private final class PoolService extends DiskPoolsGrpc.DiskPoolsImplBase {
        @Override
        public void createDiskPool(CreateDiskPoolRequest r, StreamObserver<DiskPool> out) {
            answer(out, () -> pools.create(r));
        }

        @Override
        public void deleteDiskPool(GetRequest r, StreamObserver<Empty> out) {
            answer(out, () -> {
                pools.delete(r.getName(), volumes);
                return Empty.getDefaultInstance();
            });
        }

        @Override
        public void getDiskPool(GetRequest r, StreamObserver<DiskPool> out) {
            answer(out, () -> {
                PoolRecord rec = pools.require(r.getName());
                pools.refresh(rec.getSpec().getNode());
                return pools.view(rec, volumes.replicasIn(rec.getName()));
            });
        }

        @Override
        public void listDiskPools(ListRequest r, StreamObserver<ListDiskPoolsResponse> out) {
            answer(out, () -> {
                pools.refreshOnline();
                List<PoolRecord> all = pools.all().stream()
                        .filter(p -> r.getNode().isEmpty() || p.getSpec().getNode().equals(r.getNode())).toList();
                Page<PoolRecord> p = page(all, PoolRecord::getName, r);
                return ListDiskPoolsResponse.newBuilder().addAllPools(p.items().stream()
                        .map(x -> pools.view(x, volumes.replicasIn(x.getName()))).toList())
                        .setNextPageToken(p.next()).build();
            });
        }
    }

    private final class VolumeService extends VolumesGrpc.VolumesImplBase {
        @Override
        public void createVolume(CreateVolumeRequest r, StreamObserver<Volume> out) {
            answer(out, () -> volumes.create(r));
        }

        @Override
        public void getVolume(GetRequest r, StreamObserver<Volume> out) {
            answer(out, () -> volumes.described(volumes.require(r.getName())));
        }

        @Override
        public void listVolumes(ListRequest r, StreamObserver<ListVolumesResponse> out) {
            answer(out, () -> {
                Page<VolumeRecord> p = page(volumes.all(), v -> v.getSpec().getName(), r);
                Snapshot snap = new Snapshot(nodes);
                return ListVolumesResponse.newBuilder().addAllVolumes(p.items().stream().map(v -> volumes.view(v, snap))
                        .toList()).setNextPageToken(p.next()).build();
            });
        }

        @Override
        public void publishVolume(PublishVolumeRequest r, StreamObserver<Volume> out) {
            answer(out, () -> volumes.publish(r.getName(), r.getNode(), r.getAllowedHostsList()));
        }

        @Override
        public void unpublishVolume(GetRequest r, StreamObserver<Volume> out) {
            answer(out, () -> volumes.unpublish(r.getName()));
        }

        @Override
        public void resizeVolume(ResizeVolumeRequest r, StreamObserver<Volume> out) {
            answer(out, () -> volumes.resize(r.getName(), r.getSize()));
        }

        @Override
        public void scaleVolume(ScaleVolumeRequest r, StreamObserver<Volume> out) {
            answer(out, () -> volumes.scale(r.getName(), r.getReplicas()));
        }

        @Override
        public void destroyVolume(GetRequest r, StreamObserver<Empty> out) {
            answer(out, () -> {
                volumes.destroy(r.getName());
                return Empty.getDefaultInstance();
            });
        }
    }

    private final class CapacityService extends CapacityGrpc.CapacityImplBase {
        @Override
        public void getCapacity(GetCapacityRequest r, StreamObserver<GetCapacityResponse> out) {
            answer(out, () -> {
                Volumes.Capacity c = volumes.capacity(r.getReplicas() == 0 ? 1 : r.getReplicas(), r.getThin(),
                        r.getNodeSelectorMap());
                return GetCapacityResponse.newBuilder().setAvailableBytes(c.availableBytes())
                        .setMaximumVolumeSize(c.maximumVolumeSize()).setEligibleNodes(c.eligibleNodes()).build();
            });
        }
    }
}
