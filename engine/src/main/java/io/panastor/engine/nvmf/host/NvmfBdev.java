package io.panastor.engine.nvmf.host;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoType;
import io.panastor.reactor.Reactor;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A namespace of a remote NVMe/TCP subsystem as a bdev: the admin queue on the control path,
 * one IO queue per reactor that uses it. What a nexus will use for a remote replica.
 * Thread-safety: as {@link AbstractBdev}.
 */
public final class NvmfBdev extends AbstractBdev {
    private final NvmfUri uri;
    private final AdminConnection admin;
    private final AtomicInteger nextQid = new AtomicInteger();

    NvmfBdev(String name, UUID uuid, NvmfUri uri, AdminConnection admin) {
        super(name, uuid, uri.text(), admin.geometry().blockSize(), admin.geometry().blocks());
        this.uri = uri;
        this.admin = admin;
    }

    @Override
    public String productName() {
        return "NVMe/TCP disk";
    }

    @Override
    public boolean supports(IoType type) {
        return true;
    }

    NvmfUri remoteUri() {
        return uri;
    }

    /** The controller's current CNTLID (changes when the admin queue reconnects). */
    int cntlid() {
        return admin.geometry().cntlid();
    }

    void abort(int qid, int cid) {
        admin.abortAsync(qid, cid);
    }

    int maxTransfer() {
        return admin.geometry().maxTransfer();
    }

    int inCapsuleBytes() {
        return admin.geometry().inCapsuleBytes();
    }

    @Override
    protected IoChannel createChannel(Reactor reactor) {
        int queues = Math.max(1, admin.geometry().ioQueues());
        return new HostQueue(this, reactor, 1 + Math.floorMod(nextQid.getAndIncrement(), queues));
    }

    @Override
    protected void release() {
        admin.close();
    }
}
