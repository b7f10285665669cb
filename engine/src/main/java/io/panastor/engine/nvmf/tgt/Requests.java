package io.panastor.engine.nvmf.tgt;

import io.panastor.engine.nvmf.proto.NvmeCommand;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The request slots of one queue pair and their SQE copies, sized to what the queue can have
 * in flight: a handful until the host's Connect names its SQSIZE, then exactly that many (so
 * an admin or discovery queue of 32 entries holds 32, an IO queue of 128 holds 128). Slots
 * are never shrunk; a request's index is its R2T transfer tag. Reactor-confined.
 */
final class Requests {
    /** Slots before Connect: the Connect itself and a little slack for a host that pipelines. */
    static final int BEFORE_CONNECT = 4;

    private final QueuePair owner;
    private final Arena arena;
    private NvmfRequest[] slots = new NvmfRequest[0];
    private int[] free = new int[0];
    private int freeCount;
    private long nativeBytes;

    Requests(QueuePair owner, Arena arena) {
        this.owner = owner;
        this.arena = arena;
        grow(BEFORE_CONNECT);
    }

    /** Makes room for {@code count} requests in all (the negotiated queue size). Control path. */
    void grow(int count) {
        int had = slots.length;
        if (count <= had) {
            return;
        }
        MemorySegment sqes = arena.allocate((long) NvmeCommand.SIZE * (count - had), 64);
        nativeBytes += sqes.byteSize();
        NvmfRequest[] s = java.util.Arrays.copyOf(slots, count);
        int[] f = java.util.Arrays.copyOf(free, count);
        for (int i = had; i < count; i++) {
            s[i] = new NvmfRequest(owner, i, sqes.asSlice((long) (i - had) * NvmeCommand.SIZE, NvmeCommand.SIZE));
        }
        // Lowest indices on top of the stack, as before growing.
        System.arraycopy(f, 0, f, count - had, freeCount);
        for (int i = 0; i < count - had; i++) {
            f[i] = count - 1 - i;
        }
        freeCount += count - had;
        slots = s;
        free = f;
    }

    /** A free request, or null when the host has more commands outstanding than its queue holds. */
    NvmfRequest take() {
        return freeCount == 0 ? null : slots[free[--freeCount]];
    }

    /** Puts {@code req} back (its state already FREE and its buffer returned). */
    void put(NvmfRequest req) {
        free[freeCount++] = req.index;
    }

    /** The request with transfer tag {@code ttag}, or null. */
    NvmfRequest byTag(int ttag) {
        return ttag < slots.length ? slots[ttag] : null;
    }

    int capacity() {
        return slots.length;
    }

    /** Every slot, for teardown. */
    NvmfRequest[] all() {
        return slots;
    }

    long nativeBytes() {
        return nativeBytes;
    }
}
