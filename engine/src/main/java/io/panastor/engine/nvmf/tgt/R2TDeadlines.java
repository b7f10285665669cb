package io.panastor.engine.nvmf.tgt;

import io.panastor.reactor.Reactor;

/**
 * The time a host has to send the data a connection asked for by R2T. A request that takes a
 * data buffer from the reactor's shared {@link DataBufferPool} for a host-to-controller
 * transfer holds it until its H2CData is in; a host that takes R2Ts and never answers would
 * hold those buffers for ever, and every other connection of the reactor that waits for one
 * with them. So each such request gets a deadline ({@link NvmfTarget#setR2TTimeout}, measured
 * from the moment its buffer is lent, which covers an R2T still waiting for send room), and a
 * connection with one past its deadline is closed, its buffers going back to the pool — a
 * connection waiting for a buffer then waits no longer than this timeout for a hostage one.
 *
 * <p>Closed rather than terminated with a C2HTermReq: no Fatal Error Status of NVMe/TCP 1.0
 * §3.6.2.3 names a timeout (a TermReq also carries the offending PDU's header, and here there
 * is none), and a host that does not send may well not read either, so a TermReq could keep
 * the connection, and its buffers, waiting for a send that never completes. Closing is what a
 * controller does when a host goes silent on a Keep Alive timeout (NVMe base 2.0 §3.9.5).
 *
 * <p>Cost: one store per R2T'd request; one reactor timer per connection at most, armed at the
 * earliest pending deadline and re-armed when it fires and finds later ones (no timer per IO,
 * nothing allocated). Time is {@link Reactor#nanoTime()}, so a test moves a manual clock.
 *
 * <p>Thread-safety: reactor-confined, owned by one {@link QueuePair}.
 */
final class R2TDeadlines {
    private final QueuePair q;
    private final Reactor reactor;
    /** 0: no deadline. Read once, when the connection is made. */
    private final long timeoutNanos;
    private final Runnable onTimer = this::expire;
    private long timer = -1;

    R2TDeadlines(QueuePair q, Reactor reactor, long timeoutNanos) {
        this.q = q;
        this.reactor = reactor;
        this.timeoutNanos = timeoutNanos;
    }

    long timeoutNanos() {
        return timeoutNanos;
    }

    /** {@code req} was lent a buffer for data the host is to send: its time starts now. */
    void start(NvmfRequest req) {
        if (timeoutNanos <= 0) {
            req.dataDeadline = Long.MAX_VALUE;
            return;
        }
        req.dataDeadline = reactor.nanoTime() + timeoutNanos;
        if (timer < 0) {
            timer = reactor.scheduleTimerAt(req.dataDeadline, onTimer);
        }
    }

    /** A request still waits for the host's data (its R2T queued or sent). */
    private static boolean waitsForHost(NvmfRequest r) {
        return r.state == NvmfRequest.State.NEED_R2T || r.state == NvmfRequest.State.AWAIT_H2C_DATA;
    }

    private void expire() {
        timer = -1;
        if (q.closing()) {
            return;
        }
        long now = reactor.nanoTime();
        long next = Long.MAX_VALUE;
        for (NvmfRequest r : q.requests.all()) {
            if (r == null || !waitsForHost(r)) {
                continue;
            }
            if (r.dataDeadline <= now) {
                q.r2tTimedOut(r);
                return;
            }
            next = Math.min(next, r.dataDeadline);
        }
        if (next != Long.MAX_VALUE) {
            timer = reactor.scheduleTimerAt(next, onTimer);
        }
    }

    /** The connection is closing: no more deadlines. */
    void cancel() {
        if (timer >= 0) {
            reactor.cancelTimer(timer);
            timer = -1;
        }
    }
}
