package io.panastor.api.daemon;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.panastor.api.control.v1.DeregisterRequest;
import io.panastor.api.control.v1.HeartbeatRequest;
import io.panastor.api.control.v1.RegisterRequest;
import io.panastor.api.control.v1.RegistrationGrpc;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An engine's side of registration: registers with the control plane at start (and again
 * whenever a heartbeat is answered NOT_FOUND, as after the control plane lost its memory),
 * heartbeats at the interval the control plane asks for, and deregisters at an orderly stop.
 * A control plane that cannot be reached is tried again at the next beat; the engine serves on.
 */
final class ControlPlaneAgent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneAgent.class);
    static final long CALL_SECONDS = 5;

    private final RegistrationGrpc.RegistrationBlockingStub stub;
    private final RegisterRequest registration;
    private final String target;
    private final Thread thread;
    private volatile boolean stopped;
    private volatile long intervalMs = 1000;
    private final Object wake = new Object();

    ControlPlaneAgent(ManagedChannel channel, String target, RegisterRequest registration) {
        this.stub = RegistrationGrpc.newBlockingStub(channel);
        this.registration = registration;
        this.target = target;
        this.thread = Thread.ofVirtual().name("control-plane-agent").unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    private void run() {
        boolean registered = false;
        boolean failing = false;
        while (!stopped) {
            try {
                if (!registered) {
                    long ms = stub.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS).register(registration)
                            .getHeartbeatIntervalMs();
                    intervalMs = ms > 0 ? ms : 1000;
                    registered = true;
                    LOG.info("registered with the control plane at {} as node {} (instance {})", target,
                            registration.getId(), registration.getInstanceUuid());
                } else {
                    stub.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS).heartbeat(HeartbeatRequest.newBuilder()
                            .setId(registration.getId()).setInstanceUuid(registration.getInstanceUuid()).build());
                }
                if (failing) {
                    LOG.info("the control plane at {} answers again", target);
                    failing = false;
                }
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.NOT_FOUND && registered) {
                    registered = false;     // the control plane does not know this instance: register now
                    continue;
                }
                if (!failing) {
                    LOG.warn("control plane at {}: {}: {}; trying again", target, e.getStatus().getCode(),
                            e.getStatus().getDescription());
                    failing = true;
                }
            }
            synchronized (wake) {
                if (stopped) {
                    break;
                }
                try {
                    wake.wait(intervalMs);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** Stops heartbeating and deregisters (best effort: the control plane may be gone). */
    @Override
    public void close() {
        stopped = true;
        synchronized (wake) {
            wake.notifyAll();
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(CALL_SECONDS + 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            stub.withDeadlineAfter(2, TimeUnit.SECONDS).deregister(DeregisterRequest.newBuilder()
                    .setId(registration.getId()).setInstanceUuid(registration.getInstanceUuid()).build());
        } catch (StatusRuntimeException e) {
            LOG.debug("deregistering: {}", e.getStatus());
        }
    }
}
