package io.panastor.engine.nvmf.host;

import io.panastor.engine.bdev.BdevIo;

/**
 * The commands in flight on one IO queue, by CID, and what each has moved: the part of its
 * IO it covers (an IO larger than MDTS is split into several commands), the read bytes that
 * arrived, the write bytes the target asked for by R2T and those still to send. These are
 * the rules that keep a buggy or hostile target from having wrong data taken for success:
 * a read succeeds only when exactly its bytes arrived, in order, each once, and the last PDU
 * said so; a write succeeds only when every byte went out (in the capsule, or R2T'd and
 * sent). Anything else is a protocol error, which ends the connection and fails the IO.
 *
 * <p>CIDs come from a FIFO, not a stack: a CID is reused as late as the queue depth allows,
 * so a late or duplicated completion finds no command (a protocol error) rather than a newer
 * one. Writes whose R2T arrived while the send side was full wait in a FIFO of CIDs, with their
 * progress in plain arrays: nothing is allocated per IO.
 *
 * <p>Thread-safety: reactor-confined.
 */
final class HostCommands {
    final int depth;
    final BdevIo[] ios;
    /** Where in its IO's data each command's part starts, and how long it is. */
    final long[] partOffset;
    final int[] partLength;
    /** Read bytes received so far (reads), or R2T'd so far (writes; in-capsule writes: all of it). */
    final int[] moved;
    /** The last data PDU (LAST_PDU) arrived: no more data may come for it. */
    final boolean[] dataDone;
    final long[] deadlines;
    final boolean[] abortSent;
    final int[] ttags;
    /** The part of the current R2T still to send: [r2tNext, r2tEnd) of the command's data. */
    final int[] r2tNext;
    final int[] r2tEnd;
    private final int[] free;
    private int freeHead;
    private int freeCount;
    private final int[] r2tQueue;
    private final boolean[] r2tQueued;
    private int r2tHead;
    private int r2tCount;
    /** The read whose C2HData payload is arriving, or -1. */
    int receiving = -1;
    /** Where in that read's part the payload goes next. */
    long receivingAt;

    HostCommands(int depth) {
        this.depth = depth;
        ios = new BdevIo[depth];
        partOffset = new long[depth];
        partLength = new int[depth];
        moved = new int[depth];
        dataDone = new boolean[depth];
        deadlines = new long[depth];
        abortSent = new boolean[depth];
        ttags = new int[depth];
        r2tNext = new int[depth];
        r2tEnd = new int[depth];
        free = new int[depth];
        r2tQueue = new int[depth];
        r2tQueued = new boolean[depth];
        for (int i = 0; i < depth; i++) {
            free[i] = i;
        }
        freeCount = depth;
    }

    boolean hasFreeCid() {
        return freeCount > 0;
    }

    int inFlight() {
        return depth - freeCount;
    }

    /** Takes the CID freed longest ago for a command over {@code [offset, offset + length)} of {@code io}. */
    int take(BdevIo io, long offset, int length, long deadline) {
        int cid = free[freeHead];
        freeHead = (freeHead + 1) % depth;
        freeCount--;
        ios[cid] = io;
        partOffset[cid] = offset;
        partLength[cid] = length;
        moved[cid] = 0;
        dataDone[cid] = false;
        deadlines[cid] = deadline;
        abortSent[cid] = false;
        ttags[cid] = 0;
        r2tNext[cid] = 0;
        r2tEnd[cid] = 0;
        return cid;
    }

    /** Ends command {@code cid}; its CID goes to the back of the free FIFO. */
    BdevIo release(int cid) {
        BdevIo io = ios[cid];
        ios[cid] = null;
        free[(freeHead + freeCount) % depth] = cid;
        freeCount++;
        if (receiving == cid) {
            receiving = -1;
        }
        return io;
    }

    boolean inFlight(int cid) {
        return cid >= 0 && cid < depth && ios[cid] != null;
    }

    // ---------------------------------------------------------------- deferred R2Ts

    boolean hasPendingR2T() {
        return r2tCount > 0;
    }

    /** Queues write {@code cid} to send the rest of its R2T when there is room (once: a CID is in the FIFO at most once). */
    void queueR2T(int cid) {
        if (!r2tQueued[cid]) {
            r2tQueued[cid] = true;
            r2tQueue[(r2tHead + r2tCount++) % depth] = cid;
        }
    }

    int peekR2T() {
        return r2tQueue[r2tHead];
    }

    void popR2T() {
        r2tQueued[r2tQueue[r2tHead]] = false;
        r2tHead = (r2tHead + 1) % depth;
        r2tCount--;
    }

    void clearR2T() {
        java.util.Arrays.fill(r2tQueued, false);
        r2tHead = 0;
        r2tCount = 0;
    }
}
