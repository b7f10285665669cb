package io.panastor.api.grpc;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.error.EngineException.Reason;
import io.panastor.engine.lvs.ReplicaInfo;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Replicas shared over NVMe/TCP ({@code nqn.2019-05.io.openebs:<uuid>}), the share kept in
 * the replica's own properties on its pool's disk ({@value #SHARE} and {@value #HOSTS}), so
 * that importing the pool after a restart can share it again as it was.
 */
public final class ReplicaShares {
    static final String SHARE = "share";
    static final String HOSTS = "allowed_hosts";
    static final String NVMF = "nvmf";

    private final Engine engine;
    private final Shares shares;

    public ReplicaShares(Engine engine, Shares shares) {
        this.engine = engine;
        this.shares = shares;
    }

    Shares shares() {
        return shares;
    }

    Bdev bdev(ReplicaInfo r) {
        return engine.bdevs().lookup(r.bdevName()).orElseThrow(() -> new EngineException(Reason.NOT_FOUND,
                "replica " + r.name() + " has no bdev (its pool is closing?)"));
    }

    /** BUSY, naming what {@code doing} and the claimant, when something on this engine (a nexus) uses replica {@code r}. */
    void requireUnclaimed(ReplicaInfo r, String doing) {
        engine.claimant(r.bdevName()).ifPresent(c -> {
            throw new EngineException(Reason.BUSY, doing + ": replica " + r.name() + " is in use by " + c);
        });
    }

    /** The hosts a replica's recorded share allows (empty: any host). */
    static List<String> recordedHosts(ReplicaInfo r) {
        String h = r.properties().getOrDefault(HOSTS, "");
        return h.isEmpty() ? List.of() : Arrays.asList(h.split(","));
    }

    static boolean recordedShared(ReplicaInfo r) {
        return NVMF.equals(r.properties().get(SHARE));
    }

    /**
     * Shares replica {@code r} allowing {@code hosts} (any when empty) and records it; if the
     * record cannot be written, a share that was not there before is taken down again.
     */
    public CompletableFuture<ReplicaInfo> share(ReplicaInfo r, List<String> hosts) {
        for (String h : hosts) {
            Shares.checkNqn(h);
            if (h.contains(",")) {
                throw new EngineException(Reason.INVALID_ARGUMENT, "allowed host '" + h + "' contains a comma");
            }
        }
        Bdev b = bdev(r);
        boolean wasShared = shares.uri(b).isPresent();
        Map<String, String> record = new HashMap<>();
        record.put(SHARE, NVMF);
        record.put(HOSTS, String.join(",", hosts));
        return shares.share(b, hosts)
                .thenCompose(uri -> engine.setReplicaProperties(r.uuid().toString(), record)
                        .exceptionallyCompose(t -> (wasShared ? CompletableFuture.<Void>completedFuture(null)
                                : shares.unshare(b)).thenCompose(v -> CompletableFuture.failedFuture(t))));
    }

    /** Stops sharing replica {@code r}: the record first (so a restart does not share it again), then the share. */
    public CompletableFuture<ReplicaInfo> unshare(ReplicaInfo r) {
        Bdev b = bdev(r);
        Map<String, String> record = new HashMap<>();
        record.put(SHARE, null);
        record.put(HOSTS, null);
        CompletableFuture<ReplicaInfo> cleared = r.properties().containsKey(SHARE) || r.properties().containsKey(HOSTS)
                ? engine.setReplicaProperties(r.uuid().toString(), record) : CompletableFuture.completedFuture(r);
        return cleared.thenCompose(info -> shares.unshare(b).thenApply(v -> info));
    }

    /** Takes down replica {@code r}'s share, keeping its record (a pool being exported, to be shared again at import). */
    CompletableFuture<Void> close(ReplicaInfo r) {
        return engine.bdevs().lookup(r.bdevName()).map(shares::unshare).orElse(CompletableFuture.completedFuture(null));
    }

    /** Shares replica {@code r} again as its record says, if it says so (after an import). */
    public CompletableFuture<Void> restore(ReplicaInfo r) {
        if (!recordedShared(r)) {
            return CompletableFuture.completedFuture(null);
        }
        return shares.share(bdev(r), recordedHosts(r)).thenApply(uri -> null);
    }
}
