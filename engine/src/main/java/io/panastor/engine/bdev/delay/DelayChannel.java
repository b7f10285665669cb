package io.panastor.engine.bdev.delay;

import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.natives.Errno;
import io.panastor.reactor.Poller;
import io.panastor.reactor.Reactor;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A {@link DelayBdev}'s channel on one reactor, forwarding to the base's channel there.
 *
 * <p>An IO that may not enter service yet ({@code max_inflight} reached, or others waiting
 * before it) waits in a FIFO ring. Entering service it gets a base IO, issued at once, and a
 * deadline (now + its class's latency) in that class's FIFO ring: a class's latency is
 * constant, so each ring is in deadline order and only its head is looked at. An IO completes
 * to its caller once both its deadline has passed and its base IO has completed (with the
 * base's status).
 *
 * <p>Due IOs are completed by a poller on every duty cycle; a reactor timer armed at the
 * earliest held deadline (one per channel, moved only to an earlier deadline) wakes a parked
 * reactor then. A poller returning no work does not keep a reactor polling — a shared-core
 * reactor parks at once, and even a dedicated one parks up to a second when its ring owes
 * nothing — so without the timer a held IO could wait for the next unrelated wake-up. With
 * nothing held the poller does nothing and no timer is armed.
 *
 * <p>Closing with IO in flight waives the latency and the cap, so that a destroy is not held
 * up by a slow device that is only pretending. Nothing allocates or locks per IO: the rings
 * and per-IO state are arrays sized to the descriptor pool, the PRNG is a per-channel
 * xorshift.
 *
 * <p>Thread-safety: reactor-confined.
 */
final class DelayChannel extends IoChannel {
    private static final int CLASSES = 4;

    private final DelayBdev delay;
    private final IoChannel base;
    private final long[] latency;
    private final int maxInflight;
    /** Per class: ring of IO indices in service, in deadline order. */
    private final int[][] held = new int[CLASSES][];
    private final int[] heldHead = new int[CLASSES];
    private final int[] heldCount = new int[CLASSES];
    private int heldTotal;
    /** By IO index: its deadline, whether it passed, whether its base IO ended and how, whether it counts against the cap. */
    private final long[] deadline;
    private final boolean[] due;
    private final boolean[] baseDone;
    private final int[] baseStatus;
    private final int[] baseErrno;
    private final boolean[] capped;
    /** IO indices waiting to enter service, FIFO. */
    private final int[] waiting;
    private int waitHead;
    private int waitCount;
    private int inService;
    private long rng = ThreadLocalRandom.current().nextLong() | 1;
    /** The wake-up timer, or -1, and its deadline. */
    private long timerId = -1;
    private long timerAt;
    private boolean expedite;
    private boolean gone;
    private final Poller poller = this::completeDue;
    private final Runnable wake = this::onWake;
    private final IoCompletion baseCompleted = this::onBaseDone;

    DelayChannel(DelayBdev delay, Reactor reactor) {
        super(delay, reactor, DEFAULT_IO_POOL_SIZE);
        this.delay = delay;
        this.base = delay.base.channel(reactor);
        this.latency = delay.latencyNanos;
        this.maxInflight = delay.maxInflight;
        int n = poolSize();
        for (int c = 0; c < CLASSES; c++) {
            held[c] = new int[n];
        }
        this.deadline = new long[n];
        this.due = new boolean[n];
        this.baseDone = new boolean[n];
        this.baseStatus = new int[n];
        this.baseErrno = new int[n];
        this.capped = new boolean[n];
        this.waiting = new int[n];
        reactor.addPoller(poller);
    }

    /** IOs in service now (entered, not yet completed to the caller), counting against the cap. For tests. */
    int inService() {
        return inService;
    }

    /** IOs waiting to enter service. For tests. */
    int waiting() {
        return waitCount;
    }

    /** IOs the base has answered that wait for their deadline. For tests: O(pool size). */
    int answeredAndHeld() {
        int n = 0;
        for (boolean b : baseDone) {
            n += b ? 1 : 0;
        }
        return n;
    }

    @Override
    protected void doSubmit(BdevIo io) {
        if (gone || delay.baseGone) {
            completeLater(io, IoStatus.IO_ERROR, Errno.ENODEV);
            return;
        }
        IoType t = io.type();
        if (t == IoType.FLUSH || t == IoType.RESET) {
            enterService(io, -1, false);
        } else if (maxInflight > 0 && (waitCount > 0 || inService >= maxInflight)) {
            waiting[(waitHead + waitCount++) % waiting.length] = io.index();
        } else {
            enterService(io, latencyClass(t), maxInflight > 0);
        }
    }

    private int latencyClass(IoType t) {
        int avg = t == IoType.READ ? DelayBdev.READ_AVG : DelayBdev.WRITE_AVG;
        if (latency[avg + 1] != latency[avg] && Long.remainderUnsigned(nextRandom(), 100) == 0) {
            return avg + 1;
        }
        return avg;
    }

    private long nextRandom() {
        long x = rng;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        rng = x;
        return x;
    }

    /** Issues the base IO for {@code io} and, for a latency class ({@code cls >= 0}), holds it until its deadline. */
    private void enterService(BdevIo io, int cls, boolean counts) {
        BdevIo c = base.allocIo();
        if (c == null) {
            completeLater(io, IoStatus.NO_RESOURCES, 0);
            return;
        }
        int i = io.index();
        capped[i] = counts;
        if (counts) {
            inService++;
        }
        baseDone[i] = false;
        long lat = cls < 0 ? 0 : latency[cls];
        if (lat == 0 || expedite) {
            due[i] = true;
        } else {
            due[i] = false;
            long d = reactor.nanoTime() + lat;
            deadline[i] = d;
            held[cls][(heldHead[cls] + heldCount[cls]++) % held[cls].length] = i;
            heldTotal++;
            arm(d);
        }
        c.tag = i;
        c.prepareLike(io, baseCompleted);
        base.submit(c);
    }

    private void onBaseDone(BdevIo c) {
        int i = (int) c.tag;
        int status = c.status();
        int errno = c.errno();
        c.release();
        if (gone) {
            status = IoStatus.IO_ERROR;
            errno = Errno.ENODEV;
        }
        if (due[i]) {
            finish(i, status, errno);
        } else {
            baseDone[i] = true;
            baseStatus[i] = status;
            baseErrno[i] = errno;
        }
    }

    /** Completes IO {@code i} to its caller, then lets waiting IO into the freed place. */
    private void finish(int i, int status, int errno) {
        baseDone[i] = false;
        boolean counted = capped[i];
        if (counted) {
            capped[i] = false;
            inService--;
        }
        complete(ioAt(i), status, errno);
        if (counted) {
            admitWaiting();
        }
    }

    private void admitWaiting() {
        while (waitCount > 0 && (expedite || inService < maxInflight)) {
            int i = waiting[waitHead];
            waitHead = (waitHead + 1) % waiting.length;
            waitCount--;
            BdevIo io = ioAt(i);
            enterService(io, latencyClass(io.type()), true);
        }
    }

    /** The poller: completes (or marks due) every held IO whose deadline has passed. */
    private int completeDue() {
        if (heldTotal == 0) {
            return 0;
        }
        long now = reactor.nanoTime();
        int n = 0;
        for (int cls = 0; cls < CLASSES; cls++) {
            int[] ring = held[cls];
            while (heldCount[cls] > 0) {
                int i = ring[heldHead[cls]];
                if (!expedite && deadline[i] - now > 0) {
                    break;
                }
                heldHead[cls] = (heldHead[cls] + 1) % ring.length;
                heldCount[cls]--;
                heldTotal--;
                n++;
                if (baseDone[i]) {
                    finish(i, baseStatus[i], baseErrno[i]);
                } else {
                    due[i] = true;      // completes when its base IO does
                }
            }
        }
        if (timerId < 0 && heldTotal > 0) {
            arm(earliestDeadline());
        }
        return n;
    }

    private long earliestDeadline() {
        long earliest = 0;
        boolean any = false;
        for (int cls = 0; cls < CLASSES; cls++) {
            if (heldCount[cls] > 0) {
                long d = deadline[held[cls][heldHead[cls]]];
                if (!any || d - earliest < 0) {
                    earliest = d;
                    any = true;
                }
            }
        }
        return earliest;
    }

    /** Makes sure the wake-up timer fires by {@code d}. */
    private void arm(long d) {
        if (timerId >= 0 && d - timerAt >= 0) {
            return;
        }
        if (timerId >= 0) {
            reactor.cancelTimer(timerId);
        }
        timerAt = d;
        timerId = reactor.scheduleTimerAt(d, wake);
    }

    private void onWake() {
        timerId = -1;
        completeDue();
    }

    private void cancelTimer() {
        if (timerId >= 0) {
            reactor.cancelTimer(timerId);
            timerId = -1;
        }
    }

    /** The base was hot-removed (on this reactor): every IO held or waiting fails with ENODEV, and so will all later IO. */
    void failAll() {
        gone = true;
        cancelTimer();
        while (waitCount > 0) {
            int i = waiting[waitHead];
            waitHead = (waitHead + 1) % waiting.length;
            waitCount--;
            complete(ioAt(i), IoStatus.IO_ERROR, Errno.ENODEV);
        }
        for (int cls = 0; cls < CLASSES; cls++) {
            int[] ring = held[cls];
            while (heldCount[cls] > 0) {
                int i = ring[heldHead[cls]];
                heldHead[cls] = (heldHead[cls] + 1) % ring.length;
                heldCount[cls]--;
                heldTotal--;
                if (baseDone[i]) {
                    finish(i, IoStatus.IO_ERROR, Errno.ENODEV);
                } else {
                    due[i] = true;      // fails when its base IO ends
                }
            }
        }
    }

    @Override
    protected void onCloseWithIoInFlight() {
        expedite = true;
        cancelTimer();
        completeDue();
        admitWaiting();
    }

    @Override
    protected void onClose() {
        cancelTimer();
        reactor.removePoller(poller);
        delay.channelClosed(this);
    }
}
