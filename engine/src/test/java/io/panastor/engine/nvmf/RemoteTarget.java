package io.panastor.engine.nvmf;

import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.Bdevs;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.reactor.Reactors;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * What the initiator's tests stand on: a target on its own reactors exporting one malloc
 * bdev as NSID 1 of {@code nqn} on 127.0.0.1 (a free port), and a host-side registry on the
 * host's reactors to attach it from. {@link #close} stops all of it, host side first.
 */
public final class RemoteTarget implements AutoCloseable {
    public final Reactors targetReactors;
    public final Reactors hostReactors;
    public final Bdevs targetBdevs;
    public final Bdevs hostBdevs;
    public final NvmfTarget target;
    public final Bdev exported;
    public final InetSocketAddress address;

    /** Exports {@code mallocUri} (a {@code malloc:///NAME?...} URI) as namespace 1 of {@code nqn}. */
    public RemoteTarget(Reactors targetReactors, Reactors hostReactors, String nqn, String serial, String mallocUri) {
        this.targetReactors = targetReactors;
        this.hostReactors = hostReactors;
        this.targetBdevs = new Bdevs();
        this.exported = targetBdevs.create(mallocUri);
        this.target = new NvmfTarget(targetReactors, targetBdevs);
        target.createSubsystem(nqn, serial, "Panastor", true, List.of());
        target.addNamespace(nqn, exported.name(), 1);
        this.address = target.addListener("127.0.0.1", 0);
        this.hostBdevs = new Bdevs(hostReactors);
    }

    @Override
    public void close() {
        hostBdevs.destroyAll().join();
        hostReactors.close();
        target.close();
        targetBdevs.destroyAll().join();
        targetReactors.close();
    }
}
