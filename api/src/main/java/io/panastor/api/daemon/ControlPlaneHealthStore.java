package io.panastor.api.daemon;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.panastor.api.control.v1.ChildHealth;
import io.panastor.api.control.v1.DirtyLog;
import io.panastor.api.control.v1.GetNexusHealthRequest;
import io.panastor.api.control.v1.NexusHealthGrpc;
import io.panastor.api.control.v1.NexusHealthRecord;
import io.panastor.api.control.v1.PutNexusHealthRequest;
import io.panastor.engine.nexus.HealthRecord;
import io.panastor.engine.nexus.HealthStore;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A nexus's child health kept by the control plane: each save is a PutNexusHealth that
 * answers once the record is durable there, so a nexus acknowledges no write that changed a
 * child's health before the control plane knows of the change. A call that fails (the control
 * plane restarting) is tried again, with a growing pause, until {@code patience} has passed;
 * then the save fails, and the nexus fails the writes waiting for it and tries again itself.
 */
public final class ControlPlaneHealthStore implements HealthStore {
    private final NexusHealthGrpc.NexusHealthBlockingStub stub;
    private final String node;
    private final Duration patience;
    private static final long CALL_SECONDS = 5;

    public ControlPlaneHealthStore(ManagedChannel channel, String node, Duration patience) {
        this.stub = NexusHealthGrpc.newBlockingStub(channel);
        this.node = node;
        this.patience = patience;
    }

    @Override
    public Optional<HealthRecord> load(String key) throws IOException {
        try {
            return Optional.of(fromProto(retrying("reading the child health of " + key, () -> stub
                    .withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS)
                    .getNexusHealth(GetNexusHealthRequest.newBuilder().setKey(key).setNode(node).build()))));
        } catch (NotFound e) {
            return Optional.empty();
        }
    }

    @Override
    public void save(String key, HealthRecord record) throws IOException {
        NexusHealthRecord r = toProto(key, node, record);
        retrying("persisting the child health of " + key, () -> stub.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS)
                .putNexusHealth(PutNexusHealthRequest.newBuilder().setRecord(r).build()));
    }

    @Override
    public void delete(String key) throws IOException {
        try {
            retrying("deleting the child health of " + key, () -> stub.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS)
                    .deleteNexusHealth(GetNexusHealthRequest.newBuilder().setKey(key).setNode(node).build()));
        } catch (NotFound e) {
            // already gone
        }
    }

    private static final class NotFound extends IOException {
        NotFound(String m) {
            super(m);
        }
    }

    private <T> T retrying(String what, java.util.function.Supplier<T> call) throws IOException {
        long deadline = System.nanoTime() + patience.toNanos();
        long pauseMs = 50;
        while (true) {
            try {
                return call.get();
            } catch (StatusRuntimeException e) {
                Status.Code code = e.getStatus().getCode();
                if (code == Status.Code.NOT_FOUND) {
                    throw new NotFound(e.getStatus().getDescription());
                }
                if (code == Status.Code.FAILED_PRECONDITION) {
                    throw new io.panastor.engine.nexus.HealthStore.Fenced(what + ": " + e.getStatus().getDescription());
                }
                boolean transientFailure = code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED
                        || code == Status.Code.ABORTED || code == Status.Code.INTERNAL || code == Status.Code.UNKNOWN;
                if (!transientFailure || System.nanoTime() - deadline > 0) {
                    throw new IOException(what + " at the control plane: " + code + ": "
                            + e.getStatus().getDescription(), e);
                }
            }
            try {
                Thread.sleep(pauseMs);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IOException(what + ": interrupted", ie);
            }
            pauseMs = Math.min(1000, pauseMs * 2);
        }
    }

    /** The record as the control plane keeps it. */
    public static NexusHealthRecord toProto(String key, String node, HealthRecord record) {
        NexusHealthRecord.Builder b = NexusHealthRecord.newBuilder().setKey(key).setNode(node)
                .setCleanShutdown(record.cleanShutdown());
        for (HealthRecord.ChildHealth c : record.children()) {
            ChildHealth.Builder cb = ChildHealth.newBuilder().setUuid(c.uuid()).setUri(c.uri()).setHealthy(c.healthy());
            if (c.log() != null) {
                cb.setLog(DirtyLog.newBuilder().setSinceMs(c.log().sinceMillis()).setSegmentBlocks(c.log().segmentBlocks())
                        .setBlockCount(c.log().blockCount()).setDirty(ByteString.copyFrom(c.log().dirty().toByteArray())));
            }
            b.addChildren(cb);
        }
        return b.build();
    }

    /** The record as a nexus reads it. */
    public static HealthRecord fromProto(NexusHealthRecord r) {
        List<HealthRecord.ChildHealth> children = new ArrayList<>();
        for (ChildHealth c : r.getChildrenList()) {
            HealthRecord.Log log = !c.hasLog() ? null : new HealthRecord.Log(c.getLog().getSinceMs(),
                    c.getLog().getSegmentBlocks(), c.getLog().getBlockCount(),
                    BitSet.valueOf(c.getLog().getDirty().toByteArray()));
            children.add(new HealthRecord.ChildHealth(c.getUuid(), c.getUri(), c.getHealthy(), log));
        }
        return new HealthRecord(r.getCleanShutdown(), children);
    }
}
