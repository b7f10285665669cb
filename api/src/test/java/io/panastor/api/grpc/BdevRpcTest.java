package io.panastor.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.StringValue;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.panastor.api.v1.Bdev;
import io.panastor.api.v1.BdevRpcGrpc;
import io.panastor.api.v1.BdevShareRequest;
import io.panastor.api.v1.BdevUnshareRequest;
import io.panastor.api.v1.CreateBdevRequest;
import io.panastor.api.v1.DestroyBdevRequest;
import io.panastor.api.v1.ListBdevOptions;
import io.panastor.api.v1.NexusRpcGrpc;
import io.panastor.api.v1.ShareProtocol;
import io.panastor.api.v1.StartRebuildRequest;
import io.panastor.engine.Engine;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.BlockPattern;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** BdevRpc through a real Netty server on 127.0.0.1: each call's answer, idempotency, and each error's code. */
class BdevRpcTest {
    static final String M0 = "malloc:///m0?size_mb=8&blk_size=512";
    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000000aa";

    @TempDir
    Path state;
    DaemonFixture f;
    BdevRpcGrpc.BdevRpcBlockingStub bdevs;

    @BeforeEach
    void start() {
        f = new DaemonFixture(state, false);
        bdevs = BdevRpcGrpc.newBlockingStub(f.channel);
    }

    @AfterEach
    void stop() throws InterruptedException {
        f.close();
    }

    private Bdev create(String uri) {
        return bdevs.create(CreateBdevRequest.newBuilder().setUri(uri).build()).getBdev();
    }

    private static void assertCode(ThrowingCallable call, Status.Code code, String messagePart) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).containsIgnoringCase(messagePart);
        });
    }

    @Test
    void createListsTheBdevAndTheSameUriAgainIsTheSameBdev() {
        Bdev b = create(M0);
        assertThat(b.getName()).isEqualTo("m0");
        assertThat(b.getNumBlocks()).isEqualTo(8L * 1024 * 1024 / 512);
        assertThat(b.getBlkSize()).isEqualTo(512);
        assertThat(b.getProductName()).isNotBlank();
        assertThat(b.getClaimed()).isFalse();
        assertThat(b.getShareUri()).isEmpty();

        Bdev again = create(M0);
        assertThat(again.getUuid()).as("idempotent create").isEqualTo(b.getUuid());
        assertThat(bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevsList()).extracting(Bdev::getName)
                .containsExactly("m0");
        assertThat(bdevs.list(ListBdevOptions.newBuilder().setName(StringValue.of("m0")).build()).getBdevs(0).getUuid())
                .isEqualTo(b.getUuid());
    }

    @Test
    void wrongArgumentsGetTheirCodesAndChangeNothing() {
        create(M0);
        assertCode(() -> create(""), Status.Code.INVALID_ARGUMENT, "uri is required");
        assertCode(() -> create("frob:///x"), Status.Code.INVALID_ARGUMENT, "frob");
        assertCode(() -> create("malloc:///m1?size_mb=8&colour=blue"), Status.Code.INVALID_ARGUMENT, "colour");
        assertCode(() -> create("malloc:///m0?size_mb=16"), Status.Code.ALREADY_EXISTS, "m0");
        assertCode(() -> bdevs.list(ListBdevOptions.newBuilder().setName(StringValue.of("nope")).build()),
                Status.Code.NOT_FOUND, "nope");
        assertCode(() -> bdevs.destroy(DestroyBdevRequest.newBuilder().setUri("nope").build()),
                Status.Code.NOT_FOUND, "nope");
        assertCode(() -> bdevs.share(BdevShareRequest.newBuilder().setName("nope").setProtocol(ShareProtocol.NVMF).build()),
                Status.Code.NOT_FOUND, "nope");
        assertCode(() -> bdevs.share(BdevShareRequest.newBuilder().setName("m0").setProtocol(ShareProtocol.NONE).build()),
                Status.Code.INVALID_ARGUMENT, "NVMF");
        assertCode(() -> bdevs.share(BdevShareRequest.newBuilder().setName("m0").setProtocol(ShareProtocol.ISCSI).build()),
                Status.Code.INVALID_ARGUMENT, "ISCSI");
        assertCode(() -> bdevs.share(BdevShareRequest.newBuilder().setName("m0").setProtocol(ShareProtocol.NVMF)
                .addAllowedHosts("not-an-nqn").build()), Status.Code.INVALID_ARGUMENT, "not-an-nqn");
        // A remote that refuses the connection is UNAVAILABLE: try again later, not a bug.
        int closed;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = ss.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertCode(() -> create("nvmf://127.0.0.1:" + closed + "/nqn.2019-05.io.openebs:none?connect_timeout_ms=5000"),
                Status.Code.UNAVAILABLE, "127.0.0.1:" + closed);
        // A host name that does not resolve is the caller's to fix.
        assertCode(() -> create("nvmf://no-such-host.invalid:4420/nqn.2019-05.io.openebs:none?connect_timeout_ms=5000"),
                Status.Code.INVALID_ARGUMENT, "no-such-host.invalid");
        // A rebuild of a nexus that is not there.
        assertCode(() -> NexusRpcGrpc.newBlockingStub(f.channel).startRebuild(StartRebuildRequest.newBuilder()
                .setNexusUuid("n0").setUri("malloc:///m0").build()), Status.Code.NOT_FOUND, "no nexus n0");
        // Nothing changed, and the engine still serves.
        Bdev m0 = bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevs(0);
        assertThat(m0.getNumBlocks()).isEqualTo(8L * 1024 * 1024 / 512);
        assertThat(m0.getShareUri()).isEmpty();
        assertThat(bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevsCount()).isEqualTo(1);
    }

    @Test
    void sharesAtOnceOfOneBdevAreOneShareAndCreateKnowsItsUriInAnySpelling() throws Exception {
        create("malloc:///m1?size_mb=8&blk_size=4096");
        // A file by its bare path and by its uring:// URI is one bdev.
        java.nio.file.Path disk = java.nio.file.Files.write(state.resolve("disk.img"), new byte[1 << 20]);
        Bdev file = create(disk.toString());
        assertThat(create("uring://" + disk).getUuid()).isEqualTo(file.getUuid());
        BdevRpcGrpc.BdevRpcFutureStub async = BdevRpcGrpc.newFutureStub(f.channel);
        java.util.List<com.google.common.util.concurrent.ListenableFuture<io.panastor.api.v1.BdevShareResponse>> all =
                new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            all.add(async.share(BdevShareRequest.newBuilder().setName("m1").setProtocol(ShareProtocol.NVMF).build()));
        }
        java.util.Set<String> uris = new java.util.HashSet<>();
        for (var r : all) {
            uris.add(r.get(30, java.util.concurrent.TimeUnit.SECONDS).getBdev().getShareUri());
        }
        assertThat(uris).singleElement().asString().endsWith("/nqn.2019-05.io.openebs:m1");
    }

    @Test
    void aClaimedBdevCannotBeSharedOrDestroyed() {
        create(M0);
        BdevClaim claim = Engine.await(f.daemon.engine().claimBdev("m0", "test-pool"));
        try {
            Bdev b = bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevs(0);
            assertThat(b.getClaimed()).isTrue();
            assertThat(b.getClaimedBy()).isEqualTo("test-pool");
            assertCode(() -> bdevs.share(BdevShareRequest.newBuilder().setName("m0").setProtocol(ShareProtocol.NVMF).build()),
                    Status.Code.FAILED_PRECONDITION, "test-pool");
            assertCode(() -> bdevs.destroy(DestroyBdevRequest.newBuilder().setUri("m0").build()),
                    Status.Code.FAILED_PRECONDITION, "test-pool");
        } finally {
            claim.close();
        }
        bdevs.destroy(DestroyBdevRequest.newBuilder().setUri(M0).build());
        assertThat(bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevsCount()).isZero();
    }

    @Test
    void aSharedBdevCarriesDataWrittenThroughItsUriAndUnshareAndDestroyUndoIt() {
        Bdev b = create(M0);
        Bdev shared = bdevs.share(BdevShareRequest.newBuilder().setName("m0").setProtocol(ShareProtocol.NVMF).build()).getBdev();
        int port = f.daemon.replicaAddress().getPort();
        assertThat(shared.getShareUri()).isEqualTo("nvmf://127.0.0.1:" + port + "/nqn.2019-05.io.openebs:m0");
        // Sharing again is the same share, now for one host only.
        Bdev again = bdevs.share(BdevShareRequest.newBuilder().setName("m0").setProtocol(ShareProtocol.NVMF)
                .addAllowedHosts(HOST).build()).getBdev();
        assertThat(again.getShareUri()).isEqualTo(shared.getShareUri());

        // The engine's own initiator, as that host, writes a pattern through the share.
        Engine e = f.daemon.engine();
        Bdev remote = create(shared.getShareUri() + "?hostnqn=" + HOST);
        assertThat(remote.getNumBlocks()).isEqualTo(b.getNumBlocks());
        try (Arena a = Arena.ofShared()) {
            int blocks = 64;
            MemorySegment out = a.allocate(blocks * 512L, 4096);
            MemorySegment in = a.allocate(blocks * 512L, 4096);
            new BlockPattern().fill(out, 0, 512, 100, blocks, 7);
            assertThat(Engine.await(e.write(remote.getName(), 100, blocks, out)).ok()).isTrue();
            assertThat(Engine.await(e.read("m0", 100, blocks, in)).ok()).isTrue();
            assertThat(in.mismatch(out)).as("data read from the bdev is what was written through its share").isEqualTo(-1);
        }
        bdevs.destroy(DestroyBdevRequest.newBuilder().setUri(remote.getName()).build());

        bdevs.unshare(BdevUnshareRequest.newBuilder().setName("m0").build());
        assertThat(bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevs(0).getShareUri()).isEmpty();
        assertThat(e.target().subsystems()).extracting(s -> s.nqn()).doesNotContain("nqn.2019-05.io.openebs:m0");
        // Unsharing what is not shared is not an error.
        bdevs.unshare(BdevUnshareRequest.newBuilder().setName("m0").build());

        // Destroy unshares first.
        bdevs.share(BdevShareRequest.newBuilder().setName("m0").setProtocol(ShareProtocol.NVMF).build());
        bdevs.destroy(DestroyBdevRequest.newBuilder().setUri("m0").build());
        assertThat(e.target().subsystems()).extracting(s -> s.nqn()).doesNotContain("nqn.2019-05.io.openebs:m0");
        assertThat(bdevs.list(ListBdevOptions.getDefaultInstance()).getBdevsCount()).isZero();
    }
}
