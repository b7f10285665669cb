package io.panastor.engine.nvmf.tcp;

import io.panastor.reactor.Reactor;

/**
 * A {@link TcpConnection}'s send-stall deadline: when a send makes no progress for the
 * timeout, the peer is taken to read nothing and the connection is failed — otherwise it
 * would hold what the send carries (on a target, data buffers of the reactor's shared pool)
 * for as long as it keeps the socket open. Costs one store per send start or completion and
 * at most one reactor timer, armed while a send is in flight and re-armed from the last
 * progress when it fires early. Time is {@link Reactor#nanoTime()}, so a test moves a manual
 * clock.
 *
 * <p>Thread-safety: reactor-confined, owned by one connection.
 */
final class SendStallWatch {
    /** What the watch needs of its connection. */
    interface Owner {
        /** Whether a send is in flight on a connection that is not failing or closed. */
        boolean sending();

        /** No progress for {@code timeoutNanos}: fail the connection. */
        void stalled(long timeoutNanos);
    }

    private final Reactor reactor;
    private final Owner owner;
    private final Runnable onTimer = this::check;
    /** 0: no deadline. */
    private long timeoutNanos;
    /** Reactor time of the last progress of the send in flight (its start, or a completion). */
    private long progressAt;
    private long timer = -1;

    SendStallWatch(Reactor reactor, Owner owner) {
        this.reactor = reactor;
        this.owner = owner;
    }

    void timeout(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("send-stall timeout must not be negative, got " + nanos);
        }
        timeoutNanos = nanos;
    }

    /** A send started with none in flight before it. */
    void started() {
        progressAt = reactor.nanoTime();
        if (timeoutNanos > 0 && timer < 0) {
            timer = reactor.scheduleTimerAt(progressAt + timeoutNanos, onTimer);
        }
    }

    /** A send completed (whole or in part). */
    void progressed() {
        progressAt = reactor.nanoTime();
    }

    private void check() {
        timer = -1;
        if (timeoutNanos == 0 || !owner.sending()) {
            return;
        }
        long due = progressAt + timeoutNanos;
        if (reactor.nanoTime() >= due) {
            owner.stalled(timeoutNanos);
        } else {
            timer = reactor.scheduleTimerAt(due, onTimer);
        }
    }

    void cancel() {
        if (timer >= 0) {
            reactor.cancelTimer(timer);
            timer = -1;
        }
    }
}
