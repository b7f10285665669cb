package io.panastor.api.grpc;

import com.google.protobuf.Empty;
import io.grpc.stub.StreamObserver;
import io.panastor.api.v1.BdevRpcGrpc;
import io.panastor.api.v1.BdevShareRequest;
import io.panastor.api.v1.BdevShareResponse;
import io.panastor.api.v1.BdevUnshareRequest;
import io.panastor.api.v1.CreateBdevRequest;
import io.panastor.api.v1.CreateBdevResponse;
import io.panastor.api.v1.DestroyBdevRequest;
import io.panastor.api.v1.ListBdevOptions;
import io.panastor.api.v1.ListBdevResponse;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.error.EngineException;
import io.panastor.engine.error.EngineException.Reason;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * {@code mayastor.v1.BdevRpc}: bdevs by URI, one-to-one onto the Engine's bdev calls, and
 * shared over NVMe/TCP through {@link Shares}.
 */
public final class BdevService extends BdevRpcGrpc.BdevRpcImplBase {
    private final Engine engine;
    private final Shares shares;

    public BdevService(Engine engine, Shares shares) {
        this.engine = engine;
        this.shares = shares;
    }

    @Override
    public void create(CreateBdevRequest request, StreamObserver<CreateBdevResponse> out) {
        String uri = request.getUri().trim();
        Replies.reply(out, () -> {
            if (uri.isEmpty()) {
                throw GrpcErrors.invalid("uri is required: e.g. malloc:///m0?size_mb=64, uring:///dev/sdb, "
                        + "nvmf://host:4420/nqn...");
            }
            // Idempotent, as Mayastor defines it: the same URI again is the bdev it made.
            Optional<Bdev> same = byUri(uri);
            if (same.isPresent()) {
                return CompletableFuture.completedFuture(same.get());
            }
            return engine.createBdev(uri).exceptionallyCompose(t -> {
                EngineException e = EngineException.of(t);
                Optional<Bdev> raced = e.reason() == Reason.ALREADY_EXISTS ? byUri(uri) : Optional.empty();
                return raced.isPresent() ? CompletableFuture.completedFuture(raced.get())
                        : CompletableFuture.failedFuture(e);
            });
        }, b -> CreateBdevResponse.newBuilder().setBdev(toProto(b)).build());
    }

    @Override
    public void destroy(DestroyBdevRequest request, StreamObserver<Empty> out) {
        String key = request.getUri().trim();
        Replies.reply(out, () -> {
            Bdev b = find(key);
            return shares.unshare(b).thenCompose(v -> engine.destroyBdev(b.name()));
        }, v -> Empty.getDefaultInstance());
    }

    @Override
    public void list(ListBdevOptions request, StreamObserver<ListBdevResponse> out) {
        Replies.now(out, () -> {
            List<Bdev> bdevs = request.hasName() ? List.of(find(request.getName().getValue())) : engine.listBdevs();
            ListBdevResponse.Builder r = ListBdevResponse.newBuilder();
            for (Bdev b : bdevs) {
                r.addBdevs(toProto(b));
            }
            return r.build();
        });
    }

    @Override
    public void share(BdevShareRequest request, StreamObserver<BdevShareResponse> out) {
        Replies.reply(out, () -> {
            if (request.getProtocol() != ShareProtocol.NVMF) {
                throw GrpcErrors.invalid("protocol " + request.getProtocol() + " cannot share a bdev: use NVMF"
                        + (request.getProtocol() == ShareProtocol.NONE ? " (Unshare stops sharing)" : ""));
            }
            Bdev b = find(request.getName());
            return shares.share(b, request.getAllowedHostsList()).thenApply(uri -> b);
        }, b -> BdevShareResponse.newBuilder().setBdev(toProto(b)).build());
    }

    @Override
    public void unshare(BdevUnshareRequest request, StreamObserver<Empty> out) {
        Replies.reply(out, () -> shares.unshare(find(request.getName())), v -> Empty.getDefaultInstance());
    }

    /** The bdev named {@code key} (name, alias, UUID or the URI it was made from). */
    private Bdev find(String key) {
        if (key == null || key.isBlank()) {
            throw GrpcErrors.invalid("a bdev name or URI is required");
        }
        return engine.bdevs().lookup(key).or(() -> byUri(key)).orElseThrow(() -> GrpcErrors.notFound(
                "no bdev '" + key + "': List shows the bdevs there are"));
    }

    /** The bdev made from {@code uri}, spelt as it was or in its canonical form (a bare path as uring://). */
    private Optional<Bdev> byUri(String uri) {
        String canonical = uri;
        try {
            canonical = io.panastor.engine.bdev.BdevUri.parse(uri).canonical();
        } catch (RuntimeException e) {
            // not a URI the engine reads: only its own spelling can match
        }
        for (Bdev b : engine.listBdevs()) {
            if (b.uri().equals(uri) || b.aliases().contains(uri) || b.uri().equals(canonical)) {
                return Optional.of(b);
            }
        }
        return Optional.empty();
    }

    io.panastor.api.v1.Bdev toProto(Bdev b) {
        Optional<String> claimant = engine.bdevs().claimant(b.name());
        return io.panastor.api.v1.Bdev.newBuilder()
                .setName(b.name())
                .setUuid(b.uuid().toString())
                .setNumBlocks(b.blockCount())
                .setBlkSize(b.blockSize())
                .setClaimed(claimant.isPresent())
                .setClaimedBy(claimant.orElse(""))
                .setAliases(String.join(",", b.aliases()))
                .setUri(b.uri())
                .setProductName(b.productName())
                .setShareUri(shares.uri(b).orElse(""))
                .build();
    }
}
