package io.panastor.engine.nexus;

import io.panastor.engine.bdev.BdevIo;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoCompletion;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.error.EngineException;
import io.panastor.reactor.Reactor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A nexus's IO path on one reactor. It routes by the nexus's latest {@link ChildSet}, picked
 * up before each IO (one volatile read), through one {@link Link} per child: the child's own
 * channel on this reactor.
 *
 * <ul>
 *   <li>Writes, flushes, unmaps and write zeroes go to every writable child and complete when
 *       all have answered. They succeed when a child healthy at that point took them and every
 *       child still healthy did (the last healthy child is not faulted for one failed IO, so
 *       a write it failed fails, whoever else took it). A child that
 *       failed one is faulted with the reason its status gives; one that ran out of space is
 *       faulted for it only if another healthy child took the write (when all ran out, the
 *       write fails NO_SPACE and no child is faulted). One that had no submission slot
 *       (NO_RESOURCES) is not faulted, and the write fails NO_RESOURCES, for the host to retry.</li>
 *   <li>A read goes to the readable child with the fewest IOs in flight on this reactor (ties
 *       in turn). A failed read faults that child and is tried on another not yet tried.</li>
 *   <li>A write completed under a child set whose health is not yet persisted waits here
 *       until it is ({@link #healthPersisted}): a crash can never leave a child the store calls
 *       healthy without a write the host was told was done.</li>
 *   <li>A write, unmap or write zeroes overlapping a range a rebuild has locked
 *       ({@link RangeLock}) waits in this channel, in a FIFO by descriptor index, until the
 *       range is unlocked. With no range locked this costs one check that the list is empty.</li>
 * </ul>
 *
 * Nothing here allocates per IO: per-IO state lives in arrays by descriptor index, and the
 * links are made only when the child set changes.
 *
 * <p>Thread-safety: reactor-confined.
 */
final class NexusChannel extends IoChannel {
    private static final int ETIMEDOUT = 110;
    private static final int ENODEV = 19;

    private final Nexus nexus;
    private ChildSet applied;
    private Link[] links = new Link[0];
    private Link[] readable = new Link[0];
    /** Links of children no longer routed to, until their IO in flight ends. */
    private final List<Link> draining = new ArrayList<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private final BdevIo[] scratch = new BdevIo[Nexus.MAX_CHILDREN];
    private int turn;

    /** Per parent IO, by descriptor index. */
    private final int[] pending;
    /** Children (bits by id) that took the write, and those that failed it other than for space. */
    private final int[] okMask;
    private final int[] failMask;
    private final int[] failStatus;
    private final int[] failErrno;
    private final int[] tried;
    private final int[] noSpace;
    /** Children that had no submission slot for the write (NO_RESOURCES): not their failure, but they missed it. */
    private final int[] busy;
    /** The child set a fanned-out IO went out under: whom its bits name (a slot may be a new child's by the end). */
    private final ChildSet[] sentUnder;
    /** Writes done but waiting for their health generation to be persisted, and that generation. */
    private final BdevIo[] held;
    private final long[] heldGeneration;
    private int heldCount;
    /** Parent IOs that reached the children and have not completed (held writes among them). */
    private int active;
    /** Ranges locked on this channel, and those among them still waiting for overlapping writes in flight to end. */
    private final List<RangeLock> locks = new ArrayList<>();
    private final List<RangeLock> locking = new ArrayList<>();
    /** Modifying IO waiting for a locked range: an intrusive FIFO by descriptor index (-1: none). */
    private final int[] nextQueued;
    private int queueHead = -1;
    private int queueTail = -1;

    private record Waiter(NexusChild child, CompletableFuture<Void> done) {
    }

    NexusChannel(Nexus nexus, Reactor reactor) {
        super(nexus, reactor, DEFAULT_IO_POOL_SIZE);
        this.nexus = nexus;
        int n = poolSize();
        pending = new int[n];
        okMask = new int[n];
        failMask = new int[n];
        failStatus = new int[n];
        failErrno = new int[n];
        tried = new int[n];
        noSpace = new int[n];
        busy = new int[n];
        sentUnder = new ChildSet[n];
        held = new BdevIo[n];
        heldGeneration = new long[n];
        nextQueued = new int[n];
        refresh();
    }

    /** One child as this channel routes to it. */
    final class Link {
        final ChildSet.Member member;
        final IoChannel channel;
        final int bit;
        int inflight;
        final IoCompletion done = this::onDone;

        Link(ChildSet.Member member, IoChannel channel) {
            this.member = member;
            this.channel = channel;
            this.bit = 1 << member.child().id;
        }

        private void onDone(BdevIo c) {
            BdevIo parent = (BdevIo) c.context;
            int status = c.status();
            int errno = c.errno();
            IoType type = c.type();
            c.release();
            inflight--;
            if (type == IoType.READ) {
                readDone(parent, this, status, errno);
            } else {
                writeDone(parent, this, status, errno);
            }
            if (!waiters.isEmpty()) {
                checkWaiters();
            }
        }
    }

    // ------------------------------------------------------------------ routing table

    /** Picks up the nexus's latest child set, if it changed. */
    void refresh() {
        ChildSet s = nexus.set();
        if (s == applied) {
            return;
        }
        List<Link> next = new ArrayList<>();
        List<Link> reads = new ArrayList<>();
        boolean faulted = false;
        for (ChildSet.Member m : s.members()) {
            Link l = find(m);
            if (l == null) {
                try {
                    l = new Link(m, m.bdev().channel(reactor));
                } catch (RuntimeException e) {
                    // It cannot take this reactor's IO, so it is not healthy: faulted now (for a
                    // device being destroyed, whatever the others are), before a write that
                    // missed it can be acknowledged.
                    boolean gone = e instanceof EngineException ee && ee.reason() == EngineException.Reason.NOT_FOUND;
                    nexus.childFailed(m.child(), m.bdev(), gone ? ChildReason.HOT_REMOVED : ChildReason.CANNOT_OPEN);
                    faulted = true;
                    continue;
                }
            }
            next.add(l);
            if (m.readable()) {
                reads.add(l);
            }
        }
        for (Link old : links) {
            if (!next.contains(old) && old.inflight > 0) {
                draining.add(old);
            }
        }
        links = next.toArray(Link[]::new);
        readable = reads.toArray(Link[]::new);
        applied = s;
        if (faulted) {
            refresh();  // the set the fault made (unchanged if the child stayed, the last healthy one)
        }
        checkWaiters();
    }

    /** The link to reuse for {@code m}: same child, device and readability (else a new one, the old draining). */
    private Link find(ChildSet.Member m) {
        for (Link l : links) {
            if (l.member.child() == m.child() && l.member.bdev() == m.bdev() && l.member.readable() == m.readable()) {
                return l;
            }
        }
        return null;
    }

    /** A future that completes when this channel routes nothing to {@code c} and has no IO on it. */
    CompletableFuture<Void> quiesce(NexusChild c) {
        refresh();
        CompletableFuture<Void> f = new CompletableFuture<>();
        waiters.add(new Waiter(c, f));
        checkWaiters();
        return f;
    }

    /** A future that completes when no IO is in flight here (the nexus is shutting down). */
    CompletableFuture<Void> idle() {
        refresh();
        CompletableFuture<Void> f = new CompletableFuture<>();
        waiters.add(new Waiter(null, f));
        checkWaiters();
        return f;
    }

    private void checkWaiters() {
        draining.removeIf(l -> l.inflight == 0);
        for (int i = waiters.size() - 1; i >= 0; i--) {
            Waiter w = waiters.get(i);
            if (w.child() == null ? active == 0 : quiet(w.child())) {
                waiters.remove(i);
                w.done().complete(null);
            }
        }
    }

    private boolean quiet(NexusChild c) {
        for (Link l : links) {
            if (l.member.child() == c) {
                return false;
            }
        }
        for (Link l : draining) {
            if (l.member.child() == c) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ submission

    @Override
    protected void doSubmit(BdevIo io) {
        refresh();
        if (!applied.open()) {
            completeLater(io, IoStatus.ABORTED, 0);
            return;
        }
        if (!locks.isEmpty() && modifies(io.type()) && lockedOverlap(io.offsetBlocks(), io.numBlocks())) {
            enqueue(io);
            return;
        }
        route(io);
    }

    private void route(BdevIo io) {
        int i = io.index();
        okMask[i] = 0;
        failMask[i] = 0;
        failStatus[i] = IoStatus.SUCCESS;
        failErrno[i] = 0;
        tried[i] = 0;
        noSpace[i] = 0;
        busy[i] = 0;
        switch (io.type()) {
            case READ -> {
                Link l = pickReadable(0);
                if (l == null) {
                    completeLater(io, IoStatus.IO_ERROR, ENODEV);
                } else if (!issueRead(io, l)) {
                    completeLater(io, IoStatus.NO_RESOURCES, 0);
                } else {
                    active++;
                }
            }
            case RESET -> completeLater(io, IoStatus.SUCCESS, 0);
            default -> fanOut(io);
        }
    }

    private void fanOut(BdevIo io) {
        Link[] ls = links;
        if (readable.length == 0) {
            completeLater(io, IoStatus.IO_ERROR, ENODEV);
            return;
        }
        for (int k = 0; k < ls.length; k++) {
            BdevIo c = ls[k].channel.allocIo();
            if (c == null) {
                for (int j = 0; j < k; j++) {
                    scratch[j].release();
                    scratch[j] = null;
                }
                completeLater(io, IoStatus.NO_RESOURCES, 0);
                return;
            }
            scratch[k] = c;
        }
        markLogs(applied, io);
        pending[io.index()] = ls.length;
        sentUnder[io.index()] = applied;
        active++;
        for (int k = 0; k < ls.length; k++) {
            Link l = ls[k];
            BdevIo c = scratch[k];
            scratch[k] = null;
            c.prepareLike(io, l.done);
            c.context = io;
            l.inflight++;
            l.channel.submit(c);
        }
    }

    /** The readable child with the fewest IOs in flight here, not among {@code exclude}; null if none. */
    private Link pickReadable(int exclude) {
        Link[] rs = readable;
        int n = rs.length;
        if (n == 0) {
            return null;
        }
        int start = turn++ & 0x7fffffff;
        Link best = null;
        for (int k = 0; k < n; k++) {
            Link l = rs[(start + k) % n];
            if ((exclude & l.bit) == 0 && (best == null || l.inflight < best.inflight)) {
                best = l;
            }
        }
        return best;
    }

    private boolean issueRead(BdevIo io, Link l) {
        BdevIo c = l.channel.allocIo();
        if (c == null) {
            return false;
        }
        tried[io.index()] |= l.bit;
        c.prepareLike(io, l.done);
        c.context = io;
        l.inflight++;
        l.channel.submit(c);
        return true;
    }

    // ------------------------------------------------------------------ completion

    /** Ends a parent IO that reached the children. */
    private void finish(BdevIo io, int status, int errno) {
        active--;
        complete(io, status, errno);
    }

    private void readDone(BdevIo io, Link l, int status, int errno) {
        if (status == IoStatus.SUCCESS) {
            finish(io, IoStatus.SUCCESS, 0);
            return;
        }
        if (status != IoStatus.NO_RESOURCES) {
            fault(l, status, errno);
        }
        Link next = pickReadable(tried[io.index()]);
        if (next == null) {
            finish(io, status == IoStatus.NO_RESOURCES ? status : IoStatus.IO_ERROR, errno);
        } else if (!issueRead(io, next)) {
            finish(io, IoStatus.NO_RESOURCES, 0);
        }
    }

    private void writeDone(BdevIo io, Link l, int status, int errno) {
        int i = io.index();
        if (status == IoStatus.SUCCESS) {
            okMask[i] |= l.bit;
        } else if (status == IoStatus.NO_SPACE) {
            noSpace[i] |= l.bit;
        } else if (status == IoStatus.NO_RESOURCES) {
            busy[i] |= l.bit;
        } else {
            if (failStatus[i] == IoStatus.SUCCESS) {
                failStatus[i] = status;
                failErrno[i] = errno;
            }
            failMask[i] |= l.bit;
            fault(l, status, errno);
        }
        if (--pending[i] > 0) {
            return;
        }
        // Judged by the children healthy now, not when the write went out: a child that took it
        // may have been faulted since (on another reactor, by the client), and one that failed it
        // may have stayed (the last healthy child is not faulted for one IO).
        refresh();
        ChildSet sent = sentUnder[i];
        sentUnder[i] = null;
        // A child that left since the write went out may have missed it: its log (in the set now) says so.
        markLogs(applied, io);
        if (!locking.isEmpty() && modifies(io.type()) && lockingOverlap(io.offsetBlocks(), io.numBlocks())) {
            checkLocking();
        }
        if (noSpace[i] != 0 && readableIn(okMask[i], sent)) {
            List<ChildSet.Member> ms = sent.members();
            for (int k = 0; k < ms.size(); k++) {
                ChildSet.Member m = ms.get(k);
                if ((noSpace[i] & (1 << m.child().id)) != 0) {
                    nexus.childFailed(m.child(), m.bdev(), ChildReason.NO_SPACE);
                }
            }
            refresh();
        }
        // A child that missed it for want of a slot is not faulted (that is no failure of its
        // own), so the write fails, to be tried again, rather than be acknowledged without it.
        if (!readableIn(okMask[i], sent) || readableIn(failMask[i] | noSpace[i], sent) || busy[i] != 0) {
            int st;
            if (failStatus[i] != IoStatus.SUCCESS) {
                st = IoStatus.IO_ERROR;
            } else if (noSpace[i] != 0) {
                st = IoStatus.NO_SPACE;
            } else if (busy[i] != 0) {
                st = IoStatus.NO_RESOURCES;
            } else {
                st = IoStatus.IO_ERROR;
            }
            finish(io, st, st == IoStatus.IO_ERROR ? failErrno[i] : 0);
            return;
        }
        long gen = applied.generation();
        if (nexus.persistedGeneration() >= gen) {
            finish(io, IoStatus.SUCCESS, 0);
        } else {
            held[heldCount] = io;
            heldGeneration[heldCount++] = gen;
        }
    }

    /** Whether a child healthy in the current set is among {@code mask} (bits of set {@code sent}'s children). */
    private boolean readableIn(int mask, ChildSet sent) {
        for (Link l : readable) {
            if ((mask & l.bit) != 0 && in(sent, l.member.child())) {
                return true;
            }
        }
        return false;
    }

    private static boolean in(ChildSet set, NexusChild c) {
        List<ChildSet.Member> ms = set.members();
        for (int k = 0; k < ms.size(); k++) {
            if (ms.get(k).child() == c) {
                return true;
            }
        }
        return false;
    }

    private void fault(Link l, int status, int errno) {
        nexus.childFailed(l.member.child(), l.member.bdev(), reasonOf(status, errno));
        refresh();
    }

    static ChildReason reasonOf(int status, int errno) {
        if (status == IoStatus.NO_SPACE) {
            return ChildReason.NO_SPACE;
        }
        if (status == IoStatus.ABORTED || errno == ENODEV) {
            return ChildReason.HOT_REMOVED;
        }
        if (errno == ETIMEDOUT) {
            return ChildReason.TIMED_OUT;
        }
        return ChildReason.IO_FAILURE;
    }

    /** The nexus persisted a generation: writes that waited for it are acknowledged. */
    void healthPersisted() {
        long done = nexus.persistedGeneration();
        releaseHeld(done, IoStatus.SUCCESS);
    }

    /** Persisting generation {@code gen} failed: writes waiting for it (or older) fail. */
    void healthNotPersisted(long gen) {
        releaseHeld(gen, IoStatus.IO_ERROR);
    }

    private void releaseHeld(long upTo, int status) {
        int kept = 0;
        for (int k = 0; k < heldCount; k++) {
            BdevIo io = held[k];
            long gen = heldGeneration[k];
            held[k] = null;
            if (gen <= upTo) {
                finish(io, status, 0);
            } else {
                held[kept] = io;
                heldGeneration[kept++] = gen;
            }
        }
        for (int k = kept; k < heldCount; k++) {
            held[k] = null;
        }
        heldCount = kept;
        if (!waiters.isEmpty()) {
            checkWaiters();
        }
    }

    // ------------------------------------------------------------------ range locks

    /** Marks a write, unmap or write zeroes in the dirty logs of the children out of the IO path. */
    private static void markLogs(ChildSet s, BdevIo io) {
        DirtyLog[] logs = s.logs();
        if (logs.length == 0 || !modifies(io.type())) {
            return;
        }
        for (DirtyLog l : logs) {
            l.mark(io.offsetBlocks(), io.numBlocks());
        }
    }

    private boolean lockingOverlap(long first, long count) {
        for (int k = 0; k < locking.size(); k++) {
            if (locking.get(k).overlaps(first, count)) {
                return true;
            }
        }
        return false;
    }

    private static boolean modifies(IoType t) {
        return t == IoType.WRITE || t == IoType.UNMAP || t == IoType.WRITE_ZEROES;
    }

    private boolean lockedOverlap(long first, long count) {
        for (int k = 0; k < locks.size(); k++) {
            if (locks.get(k).overlaps(first, count)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a modifying parent IO still out on the children overlaps {@code r}. */
    private boolean writeInFlight(RangeLock r) {
        int n = poolSize();
        for (int i = 0; i < n; i++) {
            if (sentUnder[i] != null) {
                BdevIo io = ioAt(i);
                if (modifies(io.type()) && r.overlaps(io.offsetBlocks(), io.numBlocks())) {
                    return true;
                }
            }
        }
        return false;
    }

    /** A range taken before this channel was made: locked here from the start (nothing was in flight). */
    void preLocked(RangeLock r) {
        locks.add(r);
    }

    /** Locks {@code r} here; answers it once no overlapping write in flight remains. */
    void lock(RangeLock r) {
        if (!locks.contains(r)) {
            locks.add(r);
        }
        if (writeInFlight(r)) {
            locking.add(r);
        } else {
            r.answer();
        }
    }

    private void checkLocking() {
        for (int k = locking.size() - 1; k >= 0; k--) {
            RangeLock r = locking.get(k);
            if (!writeInFlight(r)) {
                locking.remove(k);
                r.answer();
            }
        }
    }

    /** Unlocks {@code r} here and sends on, in order, the IO queued that no other locked range holds. */
    void unlock(RangeLock r) {
        locks.remove(r);
        if (locking.remove(r)) {
            r.answer();  // unlocked before it was granted (the job stopped): its count must still end
        }
        int prev = -1;
        int i = queueHead;
        while (i >= 0) {
            int next = nextQueued[i];
            BdevIo io = ioAt(i);
            if (lockedOverlap(io.offsetBlocks(), io.numBlocks())) {
                prev = i;
            } else {
                if (prev < 0) {
                    queueHead = next;
                } else {
                    nextQueued[prev] = next;
                }
                if (queueTail == i) {
                    queueTail = prev;
                }
                route(io);
            }
            i = next;
        }
    }

    private void enqueue(BdevIo io) {
        int i = io.index();
        nextQueued[i] = -1;
        if (queueTail < 0) {
            queueHead = i;
        } else {
            nextQueued[queueTail] = i;
        }
        queueTail = i;
    }

    @Override
    protected void onClose() {
        nexus.channels().remove(this);
    }
}
