package io.panastor.api.grpc;

import com.google.protobuf.Empty;
import io.grpc.stub.StreamObserver;
import io.panastor.api.v1.AddChildNexusRequest;
import io.panastor.api.v1.AddChildNexusResponse;
import io.panastor.api.v1.Child;
import io.panastor.api.v1.ChildOperationRequest;
import io.panastor.api.v1.ChildOperationResponse;
import io.panastor.api.v1.ChildStateReason;
import io.panastor.api.v1.CreateNexusRequest;
import io.panastor.api.v1.CreateNexusResponse;
import io.panastor.api.v1.DestroyNexusRequest;
import io.panastor.api.v1.FaultNexusChildRequest;
import io.panastor.api.v1.FaultNexusChildResponse;
import io.panastor.api.v1.ListNexusOptions;
import io.panastor.api.v1.ListNexusResponse;
import io.panastor.api.v1.Nexus;
import io.panastor.api.v1.NexusRpcGrpc;
import io.panastor.api.v1.PublishNexusRequest;
import io.panastor.api.v1.PublishNexusResponse;
import io.panastor.api.v1.RemoveChildNexusRequest;
import io.panastor.api.v1.RemoveChildNexusResponse;
import io.panastor.api.v1.ResizeNexusRequest;
import io.panastor.api.v1.ResizeNexusResponse;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.api.v1.ShutdownNexusRequest;
import io.panastor.api.v1.ShutdownNexusResponse;
import io.panastor.api.v1.UnpublishNexusRequest;
import io.panastor.api.v1.UnpublishNexusResponse;
import io.panastor.engine.Engine;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.nexus.ChildAction;
import io.panastor.engine.nexus.ChildInfo;
import io.panastor.engine.nexus.NexusInfo;
import io.panastor.engine.nexus.NexusSpec;
import io.panastor.api.v1.ListRebuildHistoryRequest;
import io.panastor.api.v1.ListRebuildHistoryResponse;
import io.panastor.api.v1.PauseRebuildRequest;
import io.panastor.api.v1.PauseRebuildResponse;
import io.panastor.api.v1.RebuildHistory;
import io.panastor.api.v1.RebuildHistoryRecord;
import io.panastor.api.v1.RebuildJobState;
import io.panastor.api.v1.RebuildStatsRequest;
import io.panastor.api.v1.RebuildStatsResponse;
import io.panastor.api.v1.ResumeRebuildRequest;
import io.panastor.api.v1.ResumeRebuildResponse;
import io.panastor.api.v1.StartRebuildRequest;
import io.panastor.api.v1.StartRebuildResponse;
import io.panastor.api.v1.StopRebuildRequest;
import io.panastor.api.v1.StopRebuildResponse;
import io.panastor.engine.rebuild.RebuildKind;
import io.panastor.engine.rebuild.RebuildState;
import io.panastor.engine.rebuild.RebuildStats;
import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * {@code mayastor.v1.NexusRpc}: the engine's nexuses (volumes mirrored over children),
 * published over NVMe/TCP on the nexus listener as {@code <nqn prefix><nexus uuid>}. Calls name
 * a nexus by {@code uuid}; its name is taken too. DestroyNexus of a nexus that is not there
 * succeeds (as Mayastor's); every other call on one is NOT_FOUND. The rebuild calls name a
 * child by its URI; one with no job is NOT_FOUND for Stop, Pause, Resume and GetRebuildStats.
 */
public final class NexusService extends NexusRpcGrpc.NexusRpcImplBase {
    private final Engine engine;
    private final String advertised;
    private final String nqnPrefix;

    /**
     * {@code advertised}: the nexus listener as hosts reach it, {@code host:port};
     * {@code nqnPrefix}: what a published nexus's NQN is its UUID after ({@link Shares#NQN_PREFIX} by default).
     */
    public NexusService(Engine engine, String advertised, String nqnPrefix) {
        this.engine = engine;
        this.advertised = advertised;
        this.nqnPrefix = nqnPrefix;
    }

    @Override
    public void createNexus(CreateNexusRequest request, StreamObserver<CreateNexusResponse> out) {
        Replies.reply(out, () -> {
            if (request.getName().isBlank()) {
                throw GrpcErrors.invalid("name is required: the nexus's name (its bdev's)");
            }
            if (request.getUuid().isBlank()) {
                throw GrpcErrors.invalid("uuid is required: the nexus's (its volume's) UUID");
            }
            UUID uuid = PoolService.uuid(request.getUuid());
            if (request.getSize() <= 0) {
                throw GrpcErrors.invalid("size is required: the nexus's size in bytes, above zero");
            }
            if (request.getChildrenCount() == 0) {
                throw GrpcErrors.invalid("children is empty: a nexus needs at least one child URI");
            }
            return engine.createNexus(new NexusSpec(request.getName(), uuid, request.getSize(),
                    request.getChildrenList(), request.getNexusInfoKey()));
        }, n -> CreateNexusResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void destroyNexus(DestroyNexusRequest request, StreamObserver<Empty> out) {
        Replies.reply(out, () -> {
            String key = key(request.getUuid());
            if (engine.nexus(key).isEmpty()) {
                return CompletableFuture.completedFuture(null);   // gone already: done, as Mayastor
            }
            return engine.destroyNexus(key).exceptionally(t -> {
                if (EngineException.of(t).reason() == EngineException.Reason.NOT_FOUND) {
                    return null;    // destroyed meanwhile by another call
                }
                throw EngineException.of(t);
            });
        }, v -> Empty.getDefaultInstance());
    }

    @Override
    public void shutdownNexus(ShutdownNexusRequest request, StreamObserver<ShutdownNexusResponse> out) {
        Replies.reply(out, () -> engine.shutdownNexus(find(request.getUuid())),
                n -> ShutdownNexusResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void resizeNexus(ResizeNexusRequest request, StreamObserver<ResizeNexusResponse> out) {
        Replies.reply(out, () -> {
            String key = find(request.getUuid());
            if (request.getRequestedSize() <= 0) {
                throw GrpcErrors.invalid("requested_size is required: the nexus's new size in bytes");
            }
            return engine.resizeNexus(key, request.getRequestedSize());
        }, n -> ResizeNexusResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void listNexus(ListNexusOptions request, StreamObserver<ListNexusResponse> out) {
        Replies.now(out, () -> {
            ListNexusResponse.Builder b = ListNexusResponse.newBuilder();
            for (NexusInfo n : engine.listNexuses()) {
                if ((request.hasName() && !request.getName().getValue().equals(n.name()))
                        || (request.hasUuid() && !request.getUuid().getValue().equalsIgnoreCase(n.uuid().toString()))) {
                    continue;
                }
                b.addNexusList(toProto(n));
            }
            return b.build();
        });
    }

    @Override
    public void publishNexus(PublishNexusRequest request, StreamObserver<PublishNexusResponse> out) {
        Replies.reply(out, () -> {
            String key = find(request.getUuid());
            if (request.getShare() != ShareProtocol.NVMF) {
                throw GrpcErrors.invalid("share " + request.getShare() + ": a nexus is published over NVMF "
                        + "(NVMe/TCP) only");
            }
            for (String h : request.getAllowedHostsList()) {
                Shares.checkNqn(h);
            }
            // The request's key (Mayastor's encryption key) is ignored: Panastor does not encrypt.
            NexusInfo n = engine.nexus(key).orElseThrow(() -> notFound(key));
            return engine.publishNexus(key, nqnPrefix + n.uuid(), request.getAllowedHostsList());
        }, n -> PublishNexusResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void unpublishNexus(UnpublishNexusRequest request, StreamObserver<UnpublishNexusResponse> out) {
        Replies.reply(out, () -> engine.unpublishNexus(find(request.getUuid())),
                n -> UnpublishNexusResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void addChildNexus(AddChildNexusRequest request, StreamObserver<AddChildNexusResponse> out) {
        Replies.reply(out, () -> engine.addNexusChild(find(request.getUuid()), uri(request.getUri()),
                request.getNorebuild()), n -> AddChildNexusResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void removeChildNexus(RemoveChildNexusRequest request, StreamObserver<RemoveChildNexusResponse> out) {
        Replies.reply(out, () -> engine.removeNexusChild(find(request.getUuid()), uri(request.getUri())),
                n -> RemoveChildNexusResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void faultNexusChild(FaultNexusChildRequest request, StreamObserver<FaultNexusChildResponse> out) {
        Replies.reply(out, () -> engine.faultNexusChild(find(request.getUuid()), uri(request.getUri())),
                n -> FaultNexusChildResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void childOperation(ChildOperationRequest request, StreamObserver<ChildOperationResponse> out) {
        Replies.reply(out, () -> {
            String key = find(request.getNexusUuid());
            String uri = uri(request.getUri());
            ChildAction action = switch (request.getAction()) {
                case Offline -> ChildAction.OFFLINE;
                case Online -> ChildAction.ONLINE;
                case OfflinePermanent -> ChildAction.OFFLINE_PERMANENT;
                case FaultIOError, UNRECOGNIZED -> throw GrpcErrors.invalid("action " + request.getAction()
                        + " is not supported: Offline, Online or OfflinePermanent");
            };
            return engine.nexusChildOperation(key, uri, action);
        }, n -> ChildOperationResponse.newBuilder().setNexus(toProto(n)).build());
    }

    // ------------------------------------------------------------------ rebuilds

    @Override
    public void startRebuild(StartRebuildRequest request, StreamObserver<StartRebuildResponse> out) {
        Replies.reply(out, () -> engine.startRebuild(find(request.getNexusUuid()), uri(request.getUri())),
                n -> StartRebuildResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void stopRebuild(StopRebuildRequest request, StreamObserver<StopRebuildResponse> out) {
        Replies.reply(out, () -> engine.stopRebuild(find(request.getNexusUuid()), uri(request.getUri())),
                n -> StopRebuildResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void pauseRebuild(PauseRebuildRequest request, StreamObserver<PauseRebuildResponse> out) {
        Replies.reply(out, () -> engine.pauseRebuild(find(request.getNexusUuid()), uri(request.getUri())),
                n -> PauseRebuildResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void resumeRebuild(ResumeRebuildRequest request, StreamObserver<ResumeRebuildResponse> out) {
        Replies.reply(out, () -> engine.resumeRebuild(find(request.getNexusUuid()), uri(request.getUri())),
                n -> ResumeRebuildResponse.newBuilder().setNexus(toProto(n)).build());
    }

    @Override
    public void getRebuildStats(RebuildStatsRequest request, StreamObserver<RebuildStatsResponse> out) {
        Replies.now(out, () -> toProto(engine.rebuildStats(find(request.getNexusUuid()), uri(request.getUri()))));
    }

    @Override
    public void listRebuildHistory(ListRebuildHistoryRequest request, StreamObserver<ListRebuildHistoryResponse> out) {
        Replies.now(out, () -> {
            ListRebuildHistoryResponse.Builder b = ListRebuildHistoryResponse.newBuilder();
            String only = request.getUuid().isBlank() ? null : find(request.getUuid());
            for (NexusInfo n : engine.listNexuses()) {
                if (only != null && !only.equals(n.name()) && !only.equalsIgnoreCase(n.uuid().toString())) {
                    continue;
                }
                RebuildHistory.Builder h = RebuildHistory.newBuilder().setName(n.name()).setUuid(n.uuid().toString());
                for (RebuildStats r : engine.rebuildHistory(n.name())) {
                    h.addRecords(toRecord(r));
                }
                b.addHistories(h);
            }
            return b.build();
        });
    }

    static RebuildJobState toProto(RebuildState s) {
        return switch (s) {
            case QUEUED -> RebuildJobState.Init;
            case RUNNING -> RebuildJobState.Rebuilding;
            case PAUSED -> RebuildJobState.Paused;
            case STOPPED -> RebuildJobState.Stopped;
            case FAILED -> RebuildJobState.Failed;
            case COMPLETED -> RebuildJobState.Completed;
        };
    }

    private static Timestamp time(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }

    static RebuildStatsResponse toProto(RebuildStats r) {
        RebuildStatsResponse.Builder b = RebuildStatsResponse.newBuilder()
                .setBlocksTotal(r.blocksTotal())
                .setBlocksRecovered(r.blocksDone())
                .setProgress(r.progressPercent())
                .setBlocksPerTask(r.segmentBlocks())
                .setBlockSize(r.blockSize())
                .setTasksTotal(r.tasksMax())
                .setTasksActive(r.tasksActive())
                .setBlocksTransferred(r.blocksTransferred())
                .setBlocksRemaining(r.blocksRemaining())
                .setIsPartial(r.kind() == RebuildKind.PARTIAL)
                .setState(toProto(r.state()))
                .setBytesPerSecond(r.bytesPerSecond())
                .setSegmentsTotal(r.segmentsTotal())
                .setSegmentsDone(r.segmentsDone());
        if (r.started() != null) {
            b.setStartTime(time(r.started()));
        }
        if (r.sourceUri() != null) {
            b.setSrcUri(r.sourceUri());
        }
        if (r.failure() != null) {
            b.setFailure(r.failure());
        }
        return b.build();
    }

    static RebuildHistoryRecord toRecord(RebuildStats r) {
        RebuildHistoryRecord.Builder b = RebuildHistoryRecord.newBuilder()
                .setChildUri(r.childUri())
                .setState(toProto(r.state()))
                .setBlocksTotal(r.blocksTotal())
                .setBlocksRecovered(r.blocksDone())
                .setBlocksTransferred(r.blocksTransferred())
                .setBlocksRemaining(r.blocksRemaining())
                .setBlocksPerTask(r.segmentBlocks())
                .setBlockSize(r.blockSize())
                .setIsPartial(r.kind() == RebuildKind.PARTIAL)
                .setBytesPerSecond(r.bytesPerSecond());
        if (r.sourceUri() != null) {
            b.setSrcUri(r.sourceUri());
        }
        if (r.started() != null) {
            b.setStartTime(time(r.started()));
        }
        if (r.ended() != null) {
            b.setEndTime(time(r.ended()));
        }
        if (r.failure() != null) {
            b.setFailure(r.failure());
        }
        return b.build();
    }

    private static String key(String uuid) {
        if (uuid == null || uuid.isBlank()) {
            throw GrpcErrors.invalid("uuid is required: the nexus's UUID (or name)");
        }
        return uuid;
    }

    /** The nexus {@code uuid} (or name) names, as the key to give the engine; NOT_FOUND if there is none. */
    private String find(String uuid) {
        String key = key(uuid);
        engine.nexus(key).orElseThrow(() -> notFound(key));
        return key;
    }

    private static RuntimeException notFound(String key) {
        return GrpcErrors.notFound("no nexus " + key + " on this engine: ListNexus shows the nexuses there are");
    }

    private static String uri(String uri) {
        if (uri == null || uri.isBlank()) {
            throw GrpcErrors.invalid("uri is required: the child's URI");
        }
        return uri;
    }

    /** The nexus's device URI while published: its NQN on the advertised nexus listener. */
    String deviceUri(NexusInfo n) {
        return n.published() ? "nvmf://" + advertised + "/" + n.nqn() : "";
    }

    Nexus toProto(NexusInfo n) {
        Nexus.Builder b = Nexus.newBuilder()
                .setName(n.name())
                .setUuid(n.uuid().toString())
                .setSize(n.sizeBytes())
                .setState(switch (n.state()) {
                    case ONLINE -> io.panastor.api.v1.NexusState.NEXUS_ONLINE;
                    case DEGRADED -> io.panastor.api.v1.NexusState.NEXUS_DEGRADED;
                    case FAULTED -> io.panastor.api.v1.NexusState.NEXUS_FAULTED;
                    case SHUTTING_DOWN -> io.panastor.api.v1.NexusState.NEXUS_SHUTTING_DOWN;
                    case SHUTDOWN -> io.panastor.api.v1.NexusState.NEXUS_SHUTDOWN;
                })
                .setDeviceUri(deviceUri(n))
                .addAllAllowedHosts(n.published() ? n.allowedHosts() : java.util.List.of());
        int rebuilds = 0;
        for (ChildInfo c : n.children()) {
            b.addChildren(toProto(c));
            rebuilds += c.rebuild() == null ? 0 : 1;
        }
        return b.setRebuilds(rebuilds).build();
    }

    /**
     * A child as Mayastor reports one: an open child ONLINE, one catching up DEGRADED, one out
     * of the IO path FAULTED (offline: reason CLOSED); the reason one-to-one.
     */
    static Child toProto(ChildInfo c) {
        Child.Builder b = Child.newBuilder()
                .setUri(c.uri())
                .setState(switch (c.state()) {
                    case OPEN -> io.panastor.api.v1.ChildState.CHILD_STATE_ONLINE;
                    case OUT_OF_SYNC -> io.panastor.api.v1.ChildState.CHILD_STATE_DEGRADED;
                    case OFFLINE, FAULTED -> io.panastor.api.v1.ChildState.CHILD_STATE_FAULTED;
                })
                .setStateReason(switch (c.reason()) {
                    case NONE -> c.state() == io.panastor.engine.nexus.ChildState.OFFLINE
                            ? ChildStateReason.CHILD_STATE_REASON_CLOSED : ChildStateReason.CHILD_STATE_REASON_NONE;
                    case CLOSED -> ChildStateReason.CHILD_STATE_REASON_CLOSED;
                    case CANNOT_OPEN -> ChildStateReason.CHILD_STATE_REASON_CANNOT_OPEN;
                    case IO_FAILURE -> ChildStateReason.CHILD_STATE_REASON_IO_FAILURE;
                    case BY_CLIENT -> ChildStateReason.CHILD_STATE_REASON_BY_CLIENT;
                    case OUT_OF_SYNC -> ChildStateReason.CHILD_STATE_REASON_OUT_OF_SYNC;
                    case NO_SPACE -> ChildStateReason.CHILD_STATE_REASON_NO_SPACE;
                    case TIMED_OUT -> ChildStateReason.CHILD_STATE_REASON_TIMED_OUT;
                    case HOT_REMOVED -> ChildStateReason.CHILD_STATE_REASON_HOT_REMOVED;
                    case REBUILD_FAILED -> ChildStateReason.CHILD_STATE_REASON_REBUILD_FAILED;
                });
        if (c.bdev() != null) {
            b.setDeviceName(c.bdev());
        }
        b.setRebuildProgress(c.rebuild() == null ? -1 : c.rebuild().progressPercent());
        return b.build();
    }
}
