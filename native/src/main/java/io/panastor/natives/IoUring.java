package io.panastor.natives;

import static io.panastor.bindings.io_uring_h.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.panastor.bindings.errno_h;
import io.panastor.bindings.fcntl_h;
import io.panastor.bindings.io_cqring_offsets;
import io.panastor.bindings.io_sqring_offsets;
import io.panastor.bindings.io_uring_cqe;
import io.panastor.bindings.io_uring_getevents_arg;
import io.panastor.bindings.io_uring_params;
import io.panastor.bindings.io_uring_sqe;
import io.panastor.bindings.iovec;
import io.panastor.bindings.sys_mman_h;
import io.panastor.bindings.unistd_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * An io_uring instance driven from Java, the way liburing drives it from C: the SQ and CQ
 * rings are mapped into this process, SQEs are written in place, the SQ tail is published
 * with a release store and the CQ tail read with an acquire load, and only
 * {@code io_uring_enter(2)} crosses into the kernel.
 *
 * <ul>
 *   <li>{@code prep*} methods fill the next SQE and return {@code false} only when the SQ
 *       stays full after an implicit {@link #submit()}; nothing reaches the kernel until
 *       {@link #submit()} (batched submission).</li>
 *   <li>{@link #reap} walks completions already in the CQ without a system call; it enters
 *       the kernel only when the ring says completions are held back (CQ overflow backlog,
 *       or deferred task work with {@code IORING_SETUP_COOP_TASKRUN}).</li>
 * </ul>
 *
 * Thread-safety: confined to one thread (a reactor) after construction. Owns its mappings
 * and its {@link Arena}; {@link #close()} releases both.
 */
public final class IoUring implements AutoCloseable {
    private static final VarHandle INT = JAVA_INT.varHandle();
    /** Flags every ring is set up with: submit all SQEs even when one fails; run completion
     *  task work when we enter the kernel instead of interrupting the reactor, and say so in the
     *  SQ flags (kernel 5.19+). */
    private static final int DEFAULT_SETUP_FLAGS =
            IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    /**
     * Extra setup flags for a ring that only its creating thread ever enters: no submission
     * locking, and completion work runs when that thread asks for completions (kernel 6.1+).
     */
    public static final int SINGLE_ISSUER_DEFER_TASKRUN = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    /** {@code _NSIG / 8}: the kernel's sigset size, required in the getevents argument. */
    private static final int KERNEL_SIGSET_SIZE = 8;

    private final Arena arena;
    private final MemorySegment callState;
    private final MemorySegment waitArg;
    private final MemorySegment waitTimespec;
    private final int fd;
    private final int features;

    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;
    private final long sqRingBytes;
    private final long cqRingBytes;
    private final long sqesBytes;
    private final boolean singleMmap;

    private final long sqHeadOffset;
    private final long sqTailOffset;
    private final long sqFlagsOffset;
    private final int sqMask;
    private final int sqEntries;
    private final long cqHeadOffset;
    private final long cqTailOffset;
    private final long cqesOffset;
    private final int cqMask;
    private final int cqEntries;

    /** SQEs filled by us; the kernel sees them once published. */
    private int sqTail;
    /** Last SQ head read from the kernel (may lag). */
    private int sqHeadCache;
    /** Next CQE to read. */
    private int cqHead;
    private boolean closed;

    private long enterCalls;
    /** SQEs filled, and CQEs handed out: their difference is what the kernel still owes us. */
    private long prepared;
    private long reaped;

    /** A ring of {@code entries} SQEs (rounded up to a power of two by the kernel) and twice as many CQEs. */
    public IoUring(int entries) {
        this(entries, 0, 0);
    }

    /**
     * @param entries    SQ size (power of two, up to 32768)
     * @param cqEntries  CQ size, or 0 for the kernel's default of twice {@code entries}
     * @param extraFlags IORING_SETUP_* flags added to the defaults
     */
    public IoUring(int entries, int cqEntries, int extraFlags) {
        this.arena = Arena.ofShared();
        this.callState = Errno.newCallState(arena);
        boolean ok = false;
        int ringFd = -1;
        try {
            waitArg = arena.allocate(io_uring_getevents_arg.layout());
            waitTimespec = arena.allocate(io_uring_getevents_arg.KERNEL_TIMESPEC);
            MemorySegment params = arena.allocate(io_uring_params.layout());
            int flags = DEFAULT_SETUP_FLAGS | extraFlags;
            if (cqEntries > 0) {
                flags |= IORING_SETUP_CQSIZE;
                io_uring_params.cq_entries(params, cqEntries);
            }
            io_uring_params.flags(params, flags);
            long r = unistd_h.syscall(callState, unistd_h.SYS_io_uring_setup, entries, params);
            if (r < 0) {
                throw Errno.failure("io_uring_setup(entries=" + entries + ")", callState);
            }
            ringFd = (int) r;
            this.fd = ringFd;
            this.features = io_uring_params.features(params);
            MemorySegment so = io_uring_params.sq_off(params);
            MemorySegment co = io_uring_params.cq_off(params);
            this.sqEntries = io_uring_params.sq_entries(params);
            this.cqEntries = io_uring_params.cq_entries(params);
            this.sqRingBytes = io_sqring_offsets.array(so) + (long) sqEntries * Integer.BYTES;
            this.cqRingBytes = io_cqring_offsets.cqes(co) + (long) this.cqEntries * io_uring_cqe.SIZE;
            this.sqesBytes = (long) sqEntries * io_uring_sqe.SIZE;
            this.singleMmap = (features & IORING_FEAT_SINGLE_MMAP) != 0;
            if (singleMmap) {
                long bytes = Math.max(sqRingBytes, cqRingBytes);
                sqRing = map(bytes, IORING_OFF_SQ_RING, "sq/cq ring");
                cqRing = sqRing;
            } else {
                sqRing = map(sqRingBytes, IORING_OFF_SQ_RING, "sq ring");
                cqRing = map(cqRingBytes, IORING_OFF_CQ_RING, "cq ring");
            }
            sqes = map(sqesBytes, IORING_OFF_SQES, "sqes");
            sqHeadOffset = io_sqring_offsets.head(so);
            sqTailOffset = io_sqring_offsets.tail(so);
            sqFlagsOffset = io_sqring_offsets.flags(so);
            sqMask = sqRing.get(JAVA_INT, io_sqring_offsets.ring_mask(so));
            cqHeadOffset = io_cqring_offsets.head(co);
            cqTailOffset = io_cqring_offsets.tail(co);
            cqesOffset = io_cqring_offsets.cqes(co);
            cqMask = cqRing.get(JAVA_INT, io_cqring_offsets.ring_mask(co));
            // The SQ index array maps ring slots to SQEs; an identity map lets us fill SQEs in
            // ring order, as liburing does.
            long array = io_sqring_offsets.array(so);
            for (int i = 0; i < sqEntries; i++) {
                sqRing.set(JAVA_INT, array + (long) i * Integer.BYTES, i);
            }
            sqTail = (int) INT.getAcquire(sqRing, sqTailOffset);
            sqHeadCache = (int) INT.getAcquire(sqRing, sqHeadOffset);
            cqHead = (int) INT.getAcquire(cqRing, cqHeadOffset);
            waitArg.set(JAVA_INT, io_uring_getevents_arg.sigmask_sz_OFFSET, KERNEL_SIGSET_SIZE);
            waitArg.set(JAVA_LONG, io_uring_getevents_arg.ts_OFFSET, waitTimespec.address());
            ok = true;
        } finally {
            if (!ok) {
                if (ringFd >= 0) {
                    unistd_h.close(callState, ringFd);
                }
                arena.close();
            }
        }
    }

    private MemorySegment map(long bytes, long offset, String what) {
        MemorySegment p = sys_mman_h.mmap(callState, MemorySegment.NULL, bytes,
                sys_mman_h.PROT_READ | sys_mman_h.PROT_WRITE, sys_mman_h.MAP_SHARED | sys_mman_h.MAP_POPULATE,
                fd, offset);
        if (p.address() == sys_mman_h.MAP_FAILED) {
            throw Errno.failure("mmap(io_uring " + what + ", " + bytes + " bytes)", callState);
        }
        return p.reinterpret(bytes);
    }

    public int fd() {
        return fd;
    }

    public int sqEntries() {
        return sqEntries;
    }

    public int cqEntries() {
        return cqEntries;
    }

    public int features() {
        return features;
    }

    /** SQEs filled but not yet seen by the kernel. */
    public int pendingSubmissions() {
        return sqTail - (int) INT.getAcquire(sqRing, sqHeadOffset);
    }

    /** Operations queued or in the kernel whose completion has not been handed out yet. */
    public long inFlight() {
        return prepared - reaped;
    }

    /** How many times {@code io_uring_enter(2)} was called (a measure of syscall batching). */
    public long enterCalls() {
        return enterCalls;
    }

    // ---------------------------------------------------------------- SQE preparation

    /** Byte offset of the next free SQE in {@link #sqes}, or -1 when the SQ is full even after submitting. */
    private long nextSqe() {
        if (sqTail - sqHeadCache == sqEntries) {
            sqHeadCache = (int) INT.getAcquire(sqRing, sqHeadOffset);
            if (sqTail - sqHeadCache == sqEntries) {
                submit();
                sqHeadCache = (int) INT.getAcquire(sqRing, sqHeadOffset);
                if (sqTail - sqHeadCache == sqEntries) {
                    return -1;
                }
            }
        }
        long sqe = (long) (sqTail & sqMask) * io_uring_sqe.SIZE;
        sqTail++;
        prepared++;
        return sqe;
    }

    private boolean prep(byte opcode, byte sqeFlags, int fd, long off, long addr, int len, int opFlags,
                         short bufIndex, long userData) {
        long s = nextSqe();
        if (s < 0) {
            return false;
        }
        MemorySegment q = sqes;
        q.set(JAVA_BYTE, s + io_uring_sqe.opcode_OFFSET, opcode);
        q.set(JAVA_BYTE, s + io_uring_sqe.flags_OFFSET, sqeFlags);
        q.set(JAVA_SHORT, s + io_uring_sqe.ioprio_OFFSET, (short) 0);
        q.set(JAVA_INT, s + io_uring_sqe.fd_OFFSET, fd);
        q.set(JAVA_LONG, s + io_uring_sqe.off_OFFSET, off);
        q.set(JAVA_LONG, s + io_uring_sqe.addr_OFFSET, addr);
        q.set(JAVA_INT, s + io_uring_sqe.len_OFFSET, len);
        q.set(JAVA_INT, s + io_uring_sqe.rw_flags_OFFSET, opFlags);
        q.set(JAVA_LONG, s + io_uring_sqe.user_data_OFFSET, userData);
        q.set(JAVA_SHORT, s + io_uring_sqe.buf_index_OFFSET, bufIndex);
        q.set(JAVA_SHORT, s + io_uring_sqe.personality_OFFSET, (short) 0);
        q.set(JAVA_INT, s + io_uring_sqe.file_index_OFFSET, 0);
        q.set(JAVA_LONG, s + io_uring_sqe.addr3_OFFSET, 0L);
        q.set(JAVA_LONG, s + io_uring_sqe.pad2_OFFSET, 0L);
        return true;
    }

    public boolean prepNop(long userData) {
        return prep(IORING_OP_NOP, (byte) 0, -1, 0, 0, 0, 0, (short) 0, userData);
    }

    /** read(2) at {@code offset} into {@code len} bytes at native address {@code addr}. */
    public boolean prepRead(int fd, long addr, int len, long offset, long userData) {
        return prep(IORING_OP_READ, (byte) 0, fd, offset, addr, len, 0, (short) 0, userData);
    }

    public boolean prepWrite(int fd, long addr, int len, long offset, long userData) {
        return prep(IORING_OP_WRITE, (byte) 0, fd, offset, addr, len, 0, (short) 0, userData);
    }

    /** Read into a registered buffer ({@link #registerBuffers}); {@code addr} lies inside buffer {@code bufIndex}. */
    public boolean prepReadFixed(int fd, long addr, int len, long offset, int bufIndex, long userData) {
        return prep(IORING_OP_READ_FIXED, (byte) 0, fd, offset, addr, len, 0, (short) bufIndex, userData);
    }

    public boolean prepWriteFixed(int fd, long addr, int len, long offset, int bufIndex, long userData) {
        return prep(IORING_OP_WRITE_FIXED, (byte) 0, fd, offset, addr, len, 0, (short) bufIndex, userData);
    }

    /** readv(2) with {@code iovcnt} {@code struct iovec}s at {@code iovecs}. */
    public boolean prepReadv(int fd, long iovecs, int iovcnt, long offset, long userData) {
        return prep(IORING_OP_READV, (byte) 0, fd, offset, iovecs, iovcnt, 0, (short) 0, userData);
    }

    public boolean prepWritev(int fd, long iovecs, int iovcnt, long offset, long userData) {
        return prep(IORING_OP_WRITEV, (byte) 0, fd, offset, iovecs, iovcnt, 0, (short) 0, userData);
    }

    /** Read through an index of the registered file table ({@link #registerFiles}). */
    public boolean prepReadRegisteredFile(int fileIndex, long addr, int len, long offset, long userData) {
        return prep(IORING_OP_READ, IOSQE_FIXED_FILE, fileIndex, offset, addr, len, 0, (short) 0, userData);
    }

    public boolean prepWriteRegisteredFile(int fileIndex, long addr, int len, long offset, long userData) {
        return prep(IORING_OP_WRITE, IOSQE_FIXED_FILE, fileIndex, offset, addr, len, 0, (short) 0, userData);
    }

    /** fsync(2), or fdatasync(2) when {@code dataOnly}. */
    public boolean prepFsync(int fd, boolean dataOnly, long userData) {
        return prep(IORING_OP_FSYNC, (byte) 0, fd, 0, 0, 0, dataOnly ? IORING_FSYNC_DATASYNC : 0, (short) 0, userData);
    }

    /** fallocate(2): the kernel takes the length in {@code addr} and the mode in {@code len}. */
    public boolean prepFallocate(int fd, int mode, long offset, long length, long userData) {
        return prep(IORING_OP_FALLOCATE, (byte) 0, fd, offset, length, mode, 0, (short) 0, userData);
    }

    /** Deallocates a range (a discard on a block device); the file keeps its size. */
    public boolean prepPunchHole(int fd, long offset, long length, long userData) {
        return prepFallocate(fd, fcntl_h.FALLOC_FL_PUNCH_HOLE | fcntl_h.FALLOC_FL_KEEP_SIZE, offset, length, userData);
    }

    /** Makes a range read back as zeroes, without writing them where the device can; the file keeps its size. */
    public boolean prepZeroRange(int fd, long offset, long length, long userData) {
        return prepFallocate(fd, fcntl_h.FALLOC_FL_ZERO_RANGE | fcntl_h.FALLOC_FL_KEEP_SIZE, offset, length, userData);
    }

    /** accept(2) on a listening socket; the completion's result is the new connection's fd. */
    public boolean prepAccept(int listenFd, long userData) {
        return prep(IORING_OP_ACCEPT, (byte) 0, listenFd, 0, 0, 0, io.panastor.bindings.sys_socket_h.SOCK_CLOEXEC,
                (short) 0, userData);
    }

    /** connect(2) to the {@code struct sockaddr} at native address {@code sockaddr} of {@code length} bytes. */
    public boolean prepConnect(int fd, long sockaddr, int length, long userData) {
        return prep(IORING_OP_CONNECT, (byte) 0, fd, length, sockaddr, 0, 0, (short) 0, userData);
    }

    /** recv(2) of up to {@code len} bytes; 0 in the completion means the peer closed. */
    public boolean prepRecv(int fd, long addr, int len, long userData) {
        return prep(IORING_OP_RECV, (byte) 0, fd, 0, addr, len, 0, (short) 0, userData);
    }

    /** send(2) of {@code len} bytes, without SIGPIPE when the peer is gone. */
    public boolean prepSend(int fd, long addr, int len, long userData) {
        return prep(IORING_OP_SEND, (byte) 0, fd, 0, addr, len, io.panastor.bindings.sys_socket_h.MSG_NOSIGNAL,
                (short) 0, userData);
    }

    /**
     * sendmsg(2) of the {@code struct msghdr} at native address {@code msghdr} (a gather list
     * in its iovecs), without SIGPIPE when the peer is gone. The msghdr and its iovecs must
     * stay put until the completion.
     */
    public boolean prepSendmsg(int fd, long msghdr, long userData) {
        return prep(IORING_OP_SENDMSG, (byte) 0, fd, 0, msghdr, 1, io.panastor.bindings.sys_socket_h.MSG_NOSIGNAL,
                (short) 0, userData);
    }

    /** Cancels every in-flight request on {@code fd} (kernel 5.19+); completes when they are cancelled. */
    public boolean prepCancelFd(int fd, long userData) {
        return prep(IORING_OP_ASYNC_CANCEL, (byte) 0, fd, 0, 0, 0, IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL,
                (short) 0, userData);
    }

    // ---------------------------------------------------------------- submit and reap

    /** Publishes every filled SQE and enters the kernel once; returns how many it consumed. */
    public int submit() {
        return enter(0, 0);
    }

    /** Submits and waits until at least {@code minComplete} completions are in the CQ. */
    public int submitAndWait(int minComplete) {
        return enter(minComplete, IORING_ENTER_GETEVENTS);
    }

    /**
     * Submits, then waits for one completion or until {@code timeoutNanos} pass, whichever is
     * first. This is where an idle reactor parks.
     *
     * @return SQEs consumed; a timeout is not an error
     */
    public int submitAndWaitTimeout(long timeoutNanos) {
        waitTimespec.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
        waitTimespec.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
        int toSubmit = publish();
        long r = unistd_h.syscall(callState, unistd_h.SYS_io_uring_enter, fd, toSubmit, 1,
                IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, waitArg, io_uring_getevents_arg.SIZE);
        enterCalls++;
        if (r < 0) {
            int e = Errno.of(callState);
            if (e == errno_h.ETIME || e == errno_h.EINTR || e == errno_h.EAGAIN || e == errno_h.EBUSY) {
                return 0;
            }
            throw new NativeException("io_uring_enter(wait)", e);
        }
        return (int) r;
    }

    private int publish() {
        INT.setRelease(sqRing, sqTailOffset, sqTail);
        return sqTail - (int) INT.getAcquire(sqRing, sqHeadOffset);
    }

    private int enter(int minComplete, int flags) {
        int toSubmit = publish();
        if (toSubmit == 0 && flags == 0) {
            return 0;
        }
        while (true) {
            long r = unistd_h.syscall(callState, unistd_h.SYS_io_uring_enter, fd, toSubmit, minComplete, flags,
                    MemorySegment.NULL, 0L);
            enterCalls++;
            if (r >= 0) {
                return (int) r;
            }
            int e = Errno.of(callState);
            if (e == errno_h.EINTR) {
                continue;
            }
            if (e == errno_h.EAGAIN || e == errno_h.EBUSY) {
                // The kernel is short of resources or the CQ backlog is full: the SQEs stay
                // queued and go with the next submit, after the caller reaped.
                return 0;
            }
            throw new NativeException("io_uring_enter(to_submit=" + toSubmit + ")", e);
        }
    }

    /**
     * Hands up to {@code max} completions to {@code handler}, oldest first. Costs no system
     * call when completions are already in the CQ.
     *
     * @return completions handled
     */
    public int reap(CompletionHandler handler, int max) {
        int handled = drain(handler, max);
        if (handled < max && completionsHeldBack()) {
            enter(0, IORING_ENTER_GETEVENTS);
            handled += drain(handler, max - handled);
        }
        return handled;
    }

    /** True when the kernel holds completions back (CQ overflow backlog, or deferred task work). */
    private boolean completionsHeldBack() {
        return (((int) INT.getAcquire(sqRing, sqFlagsOffset)) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) != 0;
    }

    /**
     * One duty cycle's worth of ring work in at most one system call: hands the completions
     * already in the CQ to {@code handler} (whose new SQEs join the batch), then submits every
     * queued SQE and, in the same {@code io_uring_enter}, lets the kernel post completions it
     * holds back, and hands those over too.
     *
     * @return completions handled plus SQEs submitted
     */
    public int submitAndReap(CompletionHandler handler, int max) {
        int handled = drain(handler, max);
        int toSubmit = publish();
        boolean heldBack = completionsHeldBack();
        int submitted = 0;
        if (toSubmit > 0 || heldBack) {
            submitted = enter(0, heldBack ? IORING_ENTER_GETEVENTS : 0);
            handled += drain(handler, max - handled);
            // The kernel posts a bounded number of deferred completions per enter (20 on Linux
            // 6.x) and leaves the flag up for the rest: take the rest of a burst now, so that
            // its handlers see it whole and answer it in one batch rather than two.
            for (int i = 0; i < EXTRA_REAPS && handled < max && completionsHeldBack(); i++) {
                submitted += enter(0, IORING_ENTER_GETEVENTS);
                handled += drain(handler, max - handled);
            }
        }
        return handled + submitted;
    }

    /** Further enters a cycle may make to collect a burst of deferred completions. */
    private static final int EXTRA_REAPS = 4;

    private int drain(CompletionHandler handler, int max) {
        int head = cqHead;
        int tail = (int) INT.getAcquire(cqRing, cqTailOffset);
        int n = 0;
        while (head != tail && n < max) {
            long c = cqesOffset + (long) (head & cqMask) * io_uring_cqe.SIZE;
            long userData = cqRing.get(JAVA_LONG, c + io_uring_cqe.user_data_OFFSET);
            int res = cqRing.get(JAVA_INT, c + io_uring_cqe.res_OFFSET);
            int flags = cqRing.get(JAVA_INT, c + io_uring_cqe.flags_OFFSET);
            head++;
            n++;
            reaped++;
            // Release the slot before the handler runs: it may submit, and the kernel may then
            // post into the slot we just read.
            cqHead = head;
            INT.setRelease(cqRing, cqHeadOffset, head);
            handler.onCompletion(userData, res, flags);
            if (head == tail) {
                tail = (int) INT.getAcquire(cqRing, cqTailOffset);
            }
        }
        return n;
    }

    /** Completions ready in the CQ, read without a system call. */
    public int completionsReady() {
        return (int) INT.getAcquire(cqRing, cqTailOffset) - cqHead;
    }

    // ---------------------------------------------------------------- registration

    /** Registers buffers for READ_FIXED/WRITE_FIXED; buffer {@code i} is {@code buffers[i]}. Control path. */
    public void registerBuffers(MemorySegment... buffers) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment iov = a.allocate(iovec.layout(), buffers.length);
            for (int i = 0; i < buffers.length; i++) {
                iovec.iov_base(iov, i * iovec.SIZE, buffers[i].address());
                iovec.iov_len(iov, i * iovec.SIZE, buffers[i].byteSize());
            }
            register(IORING_REGISTER_BUFFERS, iov, buffers.length, "IORING_REGISTER_BUFFERS");
        }
    }

    public void unregisterBuffers() {
        register(IORING_UNREGISTER_BUFFERS, MemorySegment.NULL, 0, "IORING_UNREGISTER_BUFFERS");
    }

    /** Registers a file table; SQEs with IOSQE_FIXED_FILE name files by index into it. Control path. */
    public void registerFiles(int... fds) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment table = a.allocate(JAVA_INT, fds.length);
            for (int i = 0; i < fds.length; i++) {
                table.setAtIndex(JAVA_INT, i, fds[i]);
            }
            register(IORING_REGISTER_FILES, table, fds.length, "IORING_REGISTER_FILES");
        }
    }

    public void unregisterFiles() {
        register(IORING_UNREGISTER_FILES, MemorySegment.NULL, 0, "IORING_UNREGISTER_FILES");
    }

    private void register(int opcode, MemorySegment arg, int count, String what) {
        long r = unistd_h.syscall(callState, unistd_h.SYS_io_uring_register, fd, opcode, arg, count);
        if (r < 0) {
            throw Errno.failure("io_uring_register(" + what + ", " + count + ")", callState);
        }
    }

    /** Unmaps the rings and closes the ring fd. In-flight operations are cancelled by the kernel. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        sys_mman_h.munmap(callState, sqes, sqesBytes);
        if (singleMmap) {
            sys_mman_h.munmap(callState, sqRing, Math.max(sqRingBytes, cqRingBytes));
        } else {
            sys_mman_h.munmap(callState, sqRing, sqRingBytes);
            sys_mman_h.munmap(callState, cqRing, cqRingBytes);
        }
        unistd_h.close(callState, fd);
        arena.close();
    }

    static {
        if (ADDRESS.byteSize() != 8) {
            throw new ExceptionInInitializerError("Panastor's io_uring bindings are for 64-bit Linux");
        }
    }
}
