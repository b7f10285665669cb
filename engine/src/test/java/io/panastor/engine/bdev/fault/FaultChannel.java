package io.panastor.engine.bdev.fault;

import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.bdev.fault.Rules.Mode;
import io.panastor.natives.Errno;
import io.panastor.reactor.Poller;
import io.panastor.reactor.Reactor;

/**
 * A {@link FaultBdev}'s channel on one reactor: reads the bdev's rules once per IO and fails,
 * holds or forwards it. Held IO (hung or delayed) is kept in arrival order; a poller ends
 * what is due on the reactor's clock, and a timer at each held deadline wakes a parked
 * reactor for it. Closing fails what is held (ABORTED), so a destroy never waits on a hang.
 *
 * <p>Thread-safety: reactor-confined; the bdev's injectors reach it by message.
 */
final class FaultChannel extends IoChannel {
    private final FaultBdev fault;
    private final IoChannel base;
    /** By IO index: the errno to fail with once the base IO ends (FAIL_AT_BASE), else 0. */
    private final int[] failAtBase;
    /** Held IO indices in arrival order, and by index: its deadline (if it has one) and whether it times out or goes on. */
    private final int[] held;
    private int heldCount;
    private final long[] deadline;
    private final boolean[] hasDeadline;
    private final boolean[] timesOut;
    private final Poller poller = this::endDue;
    private final Runnable wake = this::endDue;
    private final IoCompletion baseCompleted = this::onBaseDone;

    FaultChannel(FaultBdev fault, Reactor reactor) {
        super(fault, reactor, DEFAULT_IO_POOL_SIZE);
        this.fault = fault;
        this.base = fault.base.channel(reactor);
        int n = poolSize();
        this.failAtBase = new int[n];
        this.held = new int[n];
        this.deadline = new long[n];
        this.hasDeadline = new boolean[n];
        this.timesOut = new boolean[n];
        reactor.addPoller(poller);
    }

    @Override
    protected void doSubmit(BdevIo io) {
        IoType t = io.type();
        fault.seen.incrementAndGet(t.ordinal());
        if (fault.gone) {
            completeLater(io, IoStatus.IO_ERROR, Errno.ENODEV);
            return;
        }
        Rules r = fault.rules;
        switch (r.mode(t)) {
            case PASS -> forward(io, 0);
            case FAIL -> completeLater(io, IoStatus.IO_ERROR, r.errno(t));
            case FAIL_AT_BASE -> forward(io, r.errno(t));
            case FAIL_AFTER -> {
                if (r.takeOne(t)) {
                    forward(io, 0);
                } else {
                    completeLater(io, IoStatus.IO_ERROR, r.errno(t));
                }
            }
            case NO_SPACE -> completeLater(io, IoStatus.NO_SPACE, 0);
            case NO_RESOURCES -> completeLater(io, IoStatus.NO_RESOURCES, 0);
            case HANG -> hold(io, r.nanos(t), true);
            case DELAY -> hold(io, r.nanos(t), false);
        }
    }

    private void hold(BdevIo io, long nanos, boolean timeout) {
        int i = io.index();
        held[heldCount++] = i;
        fault.heldNow.incrementAndGet();
        timesOut[i] = timeout;
        hasDeadline[i] = !timeout || nanos > 0;
        if (hasDeadline[i]) {
            deadline[i] = reactor.nanoTime() + nanos;
            reactor.scheduleTimerAt(deadline[i], wake);
        }
    }

    private void forward(BdevIo io, int errnoAtBase) {
        BdevIo c = base.allocIo();
        if (c == null) {
            completeLater(io, IoStatus.NO_RESOURCES, 0);
            return;
        }
        int i = io.index();
        failAtBase[i] = errnoAtBase;
        c.tag = i;
        c.prepareLike(io, baseCompleted);
        fault.reached.incrementAndGet(io.type().ordinal());
        base.submit(c);
    }

    private void onBaseDone(BdevIo c) {
        int i = (int) c.tag;
        int status = c.status();
        int errno = c.errno();
        c.release();
        BdevIo io = ioAt(i);
        if (fault.gone) {
            status = IoStatus.IO_ERROR;
            errno = Errno.ENODEV;
        } else if (failAtBase[i] != 0) {
            status = IoStatus.IO_ERROR;
            errno = failAtBase[i];
        } else if (status == IoStatus.SUCCESS && io.type() == IoType.READ && fault.rules.corruptReads) {
            corrupt(io);
        }
        complete(io, status, errno);
    }

    /** Flips the middle byte of every block the read filled. */
    private void corrupt(BdevIo io) {
        int bs = fault.blockSize();
        for (long b = 0; b < io.numBlocks(); b++) {
            long at = b * bs + bs / 2;
            for (int k = 0; k < io.bufferCount(); k++) {
                java.lang.foreign.MemorySegment s = io.buffer(k);
                if (at < s.byteSize()) {
                    s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, at,
                            (byte) ~s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at));
                    break;
                }
                at -= s.byteSize();
            }
        }
    }

    /** The poller (and the timers' task): ends every held IO whose deadline has passed. */
    private int endDue() {
        if (heldCount == 0) {
            return 0;
        }
        long now = reactor.nanoTime();
        int n = 0;
        for (int k = 0; k < heldCount; ) {
            int i = held[k];
            if (hasDeadline[i] && deadline[i] - now <= 0) {
                unhold(k);
                n++;
                if (timesOut[i]) {
                    complete(ioAt(i), IoStatus.IO_ERROR, Errno.ETIMEDOUT);
                } else {
                    forward(ioAt(i), 0);
                }
            } else {
                k++;
            }
        }
        return n;
    }

    /** Removes the {@code k}th held IO, keeping the others' order. */
    private void unhold(int k) {
        System.arraycopy(held, k + 1, held, k, heldCount - k - 1);
        heldCount--;
        fault.heldNow.decrementAndGet();
    }

    /** Held IO goes to the base now, in arrival order (on the reactor, by message). */
    void releaseHeld() {
        while (heldCount > 0) {
            int i = held[0];
            unhold(0);
            if (fault.gone) {
                complete(ioAt(i), IoStatus.IO_ERROR, Errno.ENODEV);
            } else {
                forward(ioAt(i), 0);
            }
        }
    }

    /** The device is gone (on the reactor, by message): held IO fails with ENODEV. */
    void failAll() {
        failHeld(IoStatus.IO_ERROR, Errno.ENODEV);
    }

    /** Held IO fails with {@code errno} (on the reactor, by message). */
    void failHung(int errno) {
        failHeld(IoStatus.IO_ERROR, errno);
    }

    private void failHeld(int status, int errno) {
        while (heldCount > 0) {
            int i = held[0];
            unhold(0);
            complete(ioAt(i), status, errno);
        }
    }

    @Override
    protected void onCloseWithIoInFlight() {
        failHeld(IoStatus.ABORTED, 0);
    }

    @Override
    protected void onClose() {
        reactor.removePoller(poller);
        fault.channelClosed(this);
    }
}
