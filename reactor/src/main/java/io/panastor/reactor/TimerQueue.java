package io.panastor.reactor;

import java.util.Arrays;

/**
 * A reactor's timers: a binary min-heap of deadlines over plain arrays, so that timers fire
 * in exact deadline order (timers with equal deadlines in the order they were scheduled)
 * however far the clock jumps between two cycles. A timer wheel fires a timer one rotation
 * ahead before a nearer one when the clock skips a whole rotation (a reactor starved of its
 * core, or a test's {@link ManualNanoClock} moved by seconds), and walks one tick per poll to
 * catch up; a heap does neither, and its head is the park deadline at no cost.
 *
 * <p>Each timer lives in a slot; its id is {@code generation << 32 | slot}, so a stale id
 * (a timer that fired or was cancelled, its slot reused) cancels nothing. Ids are never
 * negative, so callers may keep {@code -1} for "no timer". Scheduling and cancelling are
 * O(log n) and allocate nothing once the arrays have grown to the peak timer count.
 *
 * <p>Thread-safety: reactor-confined.
 */
final class TimerQueue {
    private static final int INITIAL_CAPACITY = 64;
    private static final long SLOT_MASK = 0xFFFF_FFFFL;
    private static final int GENERATION_MASK = 0x7FFF_FFFF;

    /** By slot: deadline, scheduling sequence (for FIFO among equal deadlines), task, generation. */
    private long[] deadlines = new long[INITIAL_CAPACITY];
    private long[] sequences = new long[INITIAL_CAPACITY];
    private Runnable[] tasks = new Runnable[INITIAL_CAPACITY];
    private int[] generations = new int[INITIAL_CAPACITY];
    /** By slot: its index in {@link #heap}, or -1 when the slot is free. */
    private int[] positions = new int[INITIAL_CAPACITY];
    /** Heap order of the pending timers' slots: heap[0] has the earliest deadline. */
    private int[] heap = new int[INITIAL_CAPACITY];
    private int size;
    /** Free slots, used as a stack. */
    private int[] free = new int[INITIAL_CAPACITY];
    private int freeCount;
    private long nextSequence;

    TimerQueue() {
        Arrays.fill(positions, -1);
        for (int i = 0; i < INITIAL_CAPACITY; i++) {
            free[i] = INITIAL_CAPACITY - 1 - i;
        }
        freeCount = INITIAL_CAPACITY;
    }

    /** Pending timers. */
    int size() {
        return size;
    }

    /** The earliest pending deadline, or {@link Long#MAX_VALUE} when none is pending. */
    long earliestDeadline() {
        return size == 0 ? Long.MAX_VALUE : deadlines[heap[0]];
    }

    /** Adds a timer due at {@code deadline} (the reactor clock's nanoseconds); returns its id. */
    long schedule(long deadline, Runnable task) {
        if (freeCount == 0) {
            grow();
        }
        int slot = free[--freeCount];
        deadlines[slot] = deadline;
        sequences[slot] = nextSequence++;
        tasks[slot] = task;
        heap[size] = slot;
        positions[slot] = size;
        siftUp(size++);
        return ((long) generations[slot] << 32) | slot;
    }

    /** Removes a pending timer; false if the id names no pending timer (fired, cancelled, never made). */
    boolean cancel(long timerId) {
        if (timerId < 0) {
            return false;
        }
        long slotBits = timerId & SLOT_MASK;
        if (slotBits >= positions.length) {
            return false;
        }
        int slot = (int) slotBits;
        if (positions[slot] < 0 || generations[slot] != (int) (timerId >>> 32)) {
            return false;
        }
        removeAt(positions[slot]);
        return true;
    }

    /**
     * Removes and returns the task of the earliest timer if it is due at {@code now}, else
     * returns null. The caller runs it (a task may schedule or cancel timers).
     */
    Runnable pollDue(long now) {
        if (size == 0) {
            return null;
        }
        int slot = heap[0];
        if (deadlines[slot] - now > 0) {
            return null;
        }
        Runnable task = tasks[slot];
        removeAt(0);
        return task;
    }

    private void removeAt(int index) {
        int slot = heap[index];
        int last = heap[--size];
        if (index != size) {
            heap[index] = last;
            positions[last] = index;
            if (index > 0 && less(last, heap[(index - 1) >>> 1])) {
                siftUp(index);
            } else {
                siftDown(index);
            }
        }
        positions[slot] = -1;
        tasks[slot] = null;
        generations[slot] = (generations[slot] + 1) & GENERATION_MASK;
        free[freeCount++] = slot;
    }

    /** Slot a before slot b: earlier deadline (compared as a difference, so it survives wrap-around), then earlier scheduled. */
    private boolean less(int a, int b) {
        long d = deadlines[a] - deadlines[b];
        return d < 0 || (d == 0 && sequences[a] < sequences[b]);
    }

    private void siftUp(int index) {
        int slot = heap[index];
        while (index > 0) {
            int parent = (index - 1) >>> 1;
            int p = heap[parent];
            if (!less(slot, p)) {
                break;
            }
            heap[index] = p;
            positions[p] = index;
            index = parent;
        }
        heap[index] = slot;
        positions[slot] = index;
    }

    private void siftDown(int index) {
        int slot = heap[index];
        int half = size >>> 1;
        while (index < half) {
            int child = 2 * index + 1;
            int c = heap[child];
            int right = child + 1;
            if (right < size && less(heap[right], c)) {
                child = right;
                c = heap[child];
            }
            if (!less(c, slot)) {
                break;
            }
            heap[index] = c;
            positions[c] = index;
            index = child;
        }
        heap[index] = slot;
        positions[slot] = index;
    }

    /** Doubles every array: control-path cost, paid once per new peak of pending timers. */
    private void grow() {
        int old = positions.length;
        int capacity = old * 2;
        deadlines = Arrays.copyOf(deadlines, capacity);
        sequences = Arrays.copyOf(sequences, capacity);
        tasks = Arrays.copyOf(tasks, capacity);
        generations = Arrays.copyOf(generations, capacity);
        positions = Arrays.copyOf(positions, capacity);
        Arrays.fill(positions, old, capacity, -1);
        heap = Arrays.copyOf(heap, capacity);
        free = Arrays.copyOf(free, capacity);
        for (int i = capacity - 1; i >= old; i--) {
            free[freeCount++] = i;
        }
    }
}
