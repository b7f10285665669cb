package io.panastor.reactor;

import io.panastor.natives.CompletionHandler;
import io.panastor.natives.Cpu;
import io.panastor.natives.EventFd;
import io.panastor.natives.IoUring;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

/**
 * One run-to-completion event loop on one platform thread, pinned to one core (or left to
 * the kernel): the unit of execution of the data plane, as an SPDK reactor is.
 *
 * <p>Its duty cycle ({@link #doWork()}) reads its clock once ({@link #nanoTime()}), drains the
 * message queue (bounded), fires due timers, runs pollers (flush pollers last), reaps
 * completions from its {@link IoUring} and dispatches each to the handler named in its user
 * data, then submits the SQEs that work queued, in one system call. Nothing in it blocks or takes a lock; when a
 * cycle finds nothing to do, the {@link ReactorIdleStrategy} spins, then parks in
 * {@code io_uring_enter} — or parks at once when the reactor shares its core ({@link CoreMode}).
 *
 * <p>Time: a reactor reads its {@link NanoClock} once at the start of each cycle, as Agrona's
 * duty cycles do; code it runs asks {@link #nanoTime()} for that reading instead of reading a
 * clock per IO, and timers run off the same clock. The clock is the system's unless one is
 * given: a test gives a {@link ManualNanoClock} and moves time by hand.
 *
 * <p>Thread-safety: {@link #execute}, {@link #submit}, {@link #call}, {@link #awaitTimersDue},
 * {@link #clock()} and {@link #close()} from any thread, and the monitoring values
 * ({@link #cycles()}, {@link #parks()}, {@link #busyNanos()}, {@link #uptimeNanos()}) read
 * from anywhere, approximately; everything else is reactor-confined
 * (call it from code the reactor runs).
 */
public final class Reactor implements Agent, Executor, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Reactor.class.getName());

    /** Messages run per duty cycle at most, so that IO is never starved by control traffic. */
    static final int MESSAGE_DRAIN_LIMIT = 64;
    /** Completions dispatched per duty cycle at most. */
    static final int COMPLETION_REAP_LIMIT = 256;
    /** Timers fired per duty cycle at most. */
    static final int TIMER_EXPIRY_LIMIT = 64;
    /** Capacity of the message queue; producers spin when it is full. */
    static final int MESSAGE_QUEUE_CAPACITY = 4096;
    /** Longest a parked reactor sleeps with no timer due: it wakes for work anyway. */
    static final long MAX_PARK_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Longest delay a timer takes (~146 years): keeps deadlines far from overflowing. */
    static final long MAX_TIMER_DELAY_NANOS = Long.MAX_VALUE >>> 1;
    /** Handler id bits at the top of the 64-bit user data of every SQE this ring carries. */
    static final int HANDLER_SHIFT = 48;
    public static final long TOKEN_MASK = (1L << HANDLER_SHIFT) - 1;
    private static final int WAKEUP_HANDLER = 0;
    private static final ThreadLocal<Reactor> CURRENT = new ThreadLocal<>();

    private final int id;
    private final int cpu;
    private final int ringEntries;
    /** Made on the reactor's own thread, so the kernel may treat it as single-issuer. */
    private IoUring ring;
    private final EventFd wakeup;
    private final ManyToOneConcurrentArrayQueue<Runnable> messages =
            new ManyToOneConcurrentArrayQueue<>(MESSAGE_QUEUE_CAPACITY);
    private final NanoClock clock;
    private final CoreMode mode;
    /** Whether this reactor shares its core now: decided by its mode and {@link CoreOccupancy}. */
    private volatile boolean sharesCore;
    /** The clock as read at the start of the current cycle. */
    private long now;
    private final TimerQueue timers = new TimerQueue();
    /** What a {@link ManualNanoClock} calls when it moves: wake up and look at the time. */
    private final Runnable clockWaker = this::onClockMoved;
    private final CompletableFuture<Void> started = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private volatile boolean sleeping;
    private volatile boolean closing;
    private AgentRunner runner;
    private Thread thread;
    /** Messages this reactor sent itself while its queue was full (reactor-confined). */
    private final java.util.ArrayDeque<Runnable> ownOverflow = new java.util.ArrayDeque<>();

    private Poller[] pollers = new Poller[0];
    /** Run after {@link #pollers} (see {@link #addFlushPoller}). */
    private Poller[] flushPollers = new Poller[0];
    private final CompletionRouter dispatcher;
    private final java.util.function.Consumer<Runnable> messageRunner = this::runMessage;

    private long cycles;
    private long parks;
    /**
     * Clock time spent in duty cycles that did work: a cycle's length is the clock from its
     * start to the next one's (a cycle that did work is followed at once by the next), so this
     * costs no clock read. Written by the reactor, read anywhere as a monitoring value.
     */
    private long busyNanos;
    /** The clock when the current cycle began, and the work the previous cycle did. */
    private long cycleStart;
    private int lastWork;
    /** The clock when the reactor started (published by {@link #started}). */
    private long startNanos;
    /** Longest park with no timer due; tests lengthen it to prove that something else woke the reactor. */
    private long maxParkNanos = MAX_PARK_NANOS;

    /**
     * @param id          reactor index, used in its thread's name
     * @param cpu         core to pin the thread to, or -1 to leave it unpinned
     * @param ringEntries SQ entries of the reactor's io_uring
     */
    public Reactor(int id, int cpu, int ringEntries) {
        this(id, cpu, ringEntries, SystemNanoClock.INSTANCE);
    }

    /**
     * @param id          reactor index, used in its thread's name
     * @param cpu         core to pin the thread to, or -1 to leave it unpinned
     * @param ringEntries SQ entries of the reactor's io_uring
     * @param clock       the clock of its cycles and timers (a {@link ManualNanoClock} in tests)
     */
    public Reactor(int id, int cpu, int ringEntries, NanoClock clock) {
        this(id, cpu, ringEntries, clock, CoreMode.fromProperty());
    }

    /**
     * @param id          reactor index, used in its thread's name
     * @param cpu         core to pin the thread to, or -1 to leave it unpinned
     * @param ringEntries SQ entries of the reactor's io_uring
     * @param clock       the clock of its cycles and timers (a {@link ManualNanoClock} in tests)
     * @param mode        whether it polls as if it had its core to itself, parks as if it
     *                    shared it, or decides by what else runs there
     */
    public Reactor(int id, int cpu, int ringEntries, NanoClock clock, CoreMode mode) {
        this.id = id;
        this.mode = java.util.Objects.requireNonNull(mode, "mode");
        this.cpu = cpu;
        this.ringEntries = ringEntries;
        this.clock = java.util.Objects.requireNonNull(clock, "clock");
        this.now = clock.nanoTime();
        this.wakeup = new EventFd();
        this.dispatcher = new CompletionRouter(roleName(), (token, res, flags) -> onWakeup());
    }

    /** Starts the reactor's thread and waits until it runs its first cycle. Control path. */
    public Reactor start() {
        ReactorIdleStrategy idle = new ReactorIdleStrategy(new ReactorIdleStrategy.Host() {
            @Override
            public boolean sharesCore() {
                return sharesCore;
            }

            @Override
            public boolean ioInFlight() {
                return Reactor.this.ioInFlight();
            }

            @Override
            public void park() {
                Reactor.this.park();
            }
        }, SystemNanoClock.INSTANCE);
        CoreOccupancy.register(this);
        runner = new AgentRunner(idle, this::onError, null, this);
        AgentRunner.startOnThread(runner, r -> {
            Thread t = Thread.ofPlatform().name(roleName()).daemon(true).unstarted(r);
            thread = t;
            return t;
        });
        try {
            started.join();
        } catch (java.util.concurrent.CompletionException e) {
            close();
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
        return this;
    }

    /** Sets the longest park with no timer due (default {@link #MAX_PARK_NANOS}); before {@link #start()}. For tests. */
    Reactor maxParkNanos(long nanos) {
        if (runner != null) {
            throw new IllegalStateException(roleName() + " is already started");
        }
        maxParkNanos = nanos;
        return this;
    }

    public int id() {
        return id;
    }

    /** The core this reactor is pinned to, or -1. */
    public int cpu() {
        return cpu;
    }

    /** The mode it was started in ({@link CoreMode#AUTO} unless told). */
    public CoreMode mode() {
        return mode;
    }

    /**
     * True while this reactor shares its core and so parks as soon as it is idle; false while
     * it polls as if it had the core to itself. Any thread; an AUTO reactor's answer changes
     * as reactors start and stop.
     */
    public boolean sharesCore() {
        return sharesCore;
    }

    /** Set by {@link CoreOccupancy}. */
    void sharesCore(boolean shares) {
        sharesCore = shares;
    }

    /** The reactor running on the calling thread, or {@code null} off-reactor. */
    public static Reactor current() {
        return CURRENT.get();
    }

    /** True when called on this reactor's thread. */
    public boolean isCurrent() {
        return Thread.currentThread() == thread;
    }

    /** The reactor's ring: IO modules queue SQEs here; the reactor submits and reaps. Reactor-confined. */
    public IoUring ring() {
        return ring;
    }

    /** Duty cycles run so far (approximate when read off-reactor). */
    public long cycles() {
        return cycles;
    }

    /** Times the reactor parked in the kernel (approximate when read off-reactor). */
    public long parks() {
        return parks;
    }

    /**
     * Nanoseconds of its clock spent in duty cycles that did work, since it started (the
     * current cycle not yet counted): divided by {@link #uptimeNanos()} it is how busy the
     * reactor is; two readings a while apart give how busy it was in between. A plain read
     * of a field the reactor writes: approximate (a cycle behind) off-reactor, never torn on
     * a 64-bit JVM.
     */
    public long busyNanos() {
        return busyNanos;
    }

    /** Nanoseconds of its clock since it started (0 before). Any thread. */
    public long uptimeNanos() {
        if (!started.isDone() || started.isCompletedExceptionally()) {
            return 0;
        }
        return Math.max(0, clock.nanoTime() - startNanos);
    }

    /** True while the reactor is in (or about to enter) its park. Any thread; for tests. */
    boolean isParking() {
        return sleeping;
    }

    public Thread thread() {
        return thread;
    }

    /**
     * The reactor's clock as read at the start of the current duty cycle, in nanoseconds
     * (an arbitrary origin, as {@link System#nanoTime()}): what reactor code uses instead
     * of reading a clock itself, so a cycle costs one clock read however many IOs it starts,
     * and timeouts follow the clock a test may move. Reactor-confined (off the reactor it
     * is a racy, stale read; use {@link #clock()}).
     */
    public long nanoTime() {
        return now;
    }

    /** The clock this reactor reads. Any thread. */
    public NanoClock clock() {
        return clock;
    }

    // ---------------------------------------------------------------- messages

    /**
     * Runs {@code task} on this reactor. Any thread; never blocks unless the queue is full —
     * and never from the reactor's own thread, which could not drain it: what the reactor
     * sends itself beyond the queue's capacity (closing 10,000 queues of its controllers, say)
     * waits in a local overflow list, run in order once the queue is empty.
     */
    @Override
    public void execute(Runnable task) {
        if (closing) {
            throw new RejectedExecutionException(roleName() + " is stopped");
        }
        if (Thread.currentThread() == thread) {
            if (!ownOverflow.isEmpty() || !messages.offer(task)) {
                ownOverflow.add(task);
            }
            return;     // the reactor is awake: it is running this
        }
        while (!messages.offer(task)) {
            if (closing) {
                throw new RejectedExecutionException(roleName() + " is stopped");
            }
            signal();
            Thread.onSpinWait();
        }
        if (sleeping) {
            signal();
        }
    }

    /** Runs {@code task} on this reactor and completes the future with its result or exception. Any thread. */
    public <T> CompletableFuture<T> submit(Callable<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            execute(() -> {
                try {
                    f.complete(task.call());
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            });
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    /** Runs {@code task} on this reactor; the future completes when it has run. Any thread. */
    public CompletableFuture<Void> run(Runnable task) {
        return submit(() -> {
            task.run();
            return null;
        });
    }

    /** Runs {@code task} here and waits for its result: for control-path callers off the reactor. */
    public <T> T call(Callable<T> task) {
        if (isCurrent()) {
            try {
                return task.call();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return submit(task).join();
    }

    private void signal() {
        if (wakePending.compareAndSet(false, true)) {
            wakeup.signal();
        }
    }

    private void onClockMoved() {
        if (!closing) {
            signal();
        }
    }

    private void runMessage(Runnable task) {
        try {
            task.run();
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, roleName() + ": message failed", t);
        }
    }

    // ---------------------------------------------------------------- pollers

    /** Adds a poller run on every cycle. Reactor-confined. */
    public void addPoller(Poller poller) {
        checkThread();
        pollers = with(pollers, poller);
    }

    /**
     * Adds a poller run on every cycle after every other poller, just before the cycle's
     * submit: for work that batches what the others produced — sending the responses that
     * bdev completions delivered by a poller queued — so that it leaves in this cycle's system
     * call rather than the next one's. Reactor-confined.
     */
    public void addFlushPoller(Poller poller) {
        checkThread();
        flushPollers = with(flushPollers, poller);
    }

    private static Poller[] with(Poller[] ps, Poller poller) {
        Poller[] p = Arrays.copyOf(ps, ps.length + 1);
        p[p.length - 1] = poller;
        return p;
    }

    /** Removes a poller (of either kind); true if it was there. Reactor-confined. */
    public boolean removePoller(Poller poller) {
        checkThread();
        Poller[] p = without(pollers, poller);
        if (p != pollers) {
            pollers = p;
            return true;
        }
        p = without(flushPollers, poller);
        if (p != flushPollers) {
            flushPollers = p;
            return true;
        }
        return false;
    }

    private static Poller[] without(Poller[] ps, Poller poller) {
        for (int i = 0; i < ps.length; i++) {
            if (ps[i] == poller) {
                Poller[] p = new Poller[ps.length - 1];
                System.arraycopy(ps, 0, p, 0, i);
                System.arraycopy(ps, i + 1, p, i, ps.length - i - 1);
                return p;
            }
        }
        return ps;
    }

    public int pollerCount() {
        return pollers.length + flushPollers.length;
    }

    // ---------------------------------------------------------------- timers

    /**
     * Runs {@code task} once, {@code delayNanos} after this cycle's {@link #nanoTime()};
     * returns an id (never negative) for {@link #cancelTimer}. Timers fire in deadline order,
     * equal deadlines in the order scheduled. Reactor-confined.
     */
    public long scheduleTimer(long delayNanos, Runnable task) {
        checkThread();
        return timers.schedule(now + Math.clamp(delayNanos, 0, MAX_TIMER_DELAY_NANOS), task);
    }

    /**
     * Runs {@code task} once, in the first cycle whose {@link #nanoTime()} is at or past
     * {@code deadlineNanos} (a time of this reactor's clock); returns an id for
     * {@link #cancelTimer}. Reactor-confined.
     */
    public long scheduleTimerAt(long deadlineNanos, Runnable task) {
        checkThread();
        return timers.schedule(deadlineNanos, task);
    }

    /** Cancels a timer that has not fired; true if it was pending. Reactor-confined. */
    public boolean cancelTimer(long timerId) {
        checkThread();
        return timers.cancel(timerId);
    }

    /** Timers pending. Reactor-confined. */
    public int timerCount() {
        return timers.size();
    }

    /**
     * Completes once this reactor has run the timers due at its clock's present time (read
     * now, on the calling thread) that were scheduled before this call: with a
     * {@link ManualNanoClock}, {@code clock.advance(d)} then joining this is how a test waits
     * for what the move made due. Timers those timers schedule at the same time may still
     * be pending. Any thread.
     */
    public CompletableFuture<Void> awaitTimersDue() {
        long t = clock.nanoTime();
        CompletableFuture<Void> due = new CompletableFuture<>();
        try {
            execute(() -> timers.schedule(t, () -> due.complete(null)));
        } catch (RejectedExecutionException e) {
            due.completeExceptionally(e);
        }
        return due;
    }

    private int runDueTimers() {
        int fired = 0;
        Runnable task;
        while (fired < TIMER_EXPIRY_LIMIT && (task = timers.pollDue(now)) != null) {
            fired++;
            try {
                task.run();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, roleName() + ": timer task failed", t);
            }
        }
        return fired;
    }

    // ---------------------------------------------------------------- ring completions

    /**
     * Registers a handler for this reactor's ring completions and returns its id; an SQE
     * whose user data is {@link #userData(int, long) userData(id, token)} completes to
     * {@code handler.onCompletion(token, res, flags)}. Reactor-confined.
     */
    public int registerCompletionHandler(CompletionHandler handler) {
        checkThread();
        return dispatcher.register(handler);
    }

    /** Frees a handler id once no SQE carrying it is in flight. Reactor-confined. */
    public void unregisterCompletionHandler(int handlerId) {
        checkThread();
        dispatcher.unregister(handlerId);
    }

    /** The user data that routes a completion to {@code handlerId} with {@code token} (48 bits). */
    public static long userData(int handlerId, long token) {
        return ((long) handlerId << HANDLER_SHIFT) | (token & TOKEN_MASK);
    }

    private void armWakeup() {
        ring.prepRead(wakeup.fd(), wakeup.readBuffer().address(), Long.BYTES, 0, userData(WAKEUP_HANDLER, 0));
    }

    private void onWakeup() {
        wakePending.set(false);
        if (!closing) {
            armWakeup();
        }
    }

    // ---------------------------------------------------------------- duty cycle

    @Override
    public void onStart() {
        try {
            CURRENT.set(this);
            now = clock.nanoTime();
            cycleStart = now;
            startNanos = now;
            if (cpu >= 0) {
                Cpu.pinCurrentThread(cpu);
            }
            ring = createRing(ringEntries);
            armWakeup();
            ring.submit();
            if (clock instanceof ManualNanoClock manual) {
                manual.register(clockWaker);
            }
            started.complete(null);
        } catch (Throwable t) {
            started.completeExceptionally(t);
            throw t;
        }
    }

    /**
     * Only this thread submits, so the kernel may skip locking (SINGLE_ISSUER) and run
     * completion work only when we ask for completions (DEFER_TASKRUN, kernel 6.1+), instead
     * of interrupting the reactor; older kernels get the plain ring.
     */
    private static IoUring createRing(int entries) {
        try {
            return new IoUring(entries, 0, IoUring.SINGLE_ISSUER_DEFER_TASKRUN);
        } catch (io.panastor.natives.NativeException e) {
            if (e.errno() != io.panastor.natives.Errno.EINVAL) {
                throw e;
            }
            return new IoUring(entries);
        }
    }

    @Override
    public int doWork() {
        cycles++;
        now = clock.nanoTime();
        if (lastWork > 0) {
            busyNanos += now - cycleStart;
        }
        cycleStart = now;
        int work = messages.drain(messageRunner, MESSAGE_DRAIN_LIMIT);
        if (!ownOverflow.isEmpty() && messages.isEmpty()) {
            // After the queue: the reactor's own earlier messages in it run first (FIFO).
            work += runOwnOverflow(MESSAGE_DRAIN_LIMIT);
        }
        if (timers.size() > 0) {
            work += runDueTimers();
        }
        work += runPollers(pollers);
        work += runPollers(flushPollers);
        // Completions, and the SQEs this cycle queued, in one system call at most.
        work += ring.submitAndReap(dispatcher, COMPLETION_REAP_LIMIT);
        lastWork = work;
        return work;
    }

    private int runOwnOverflow(int max) {
        int n = 0;
        Runnable task;
        while (n < max && (task = ownOverflow.poll()) != null) {
            runMessage(task);
            n++;
        }
        return n;
    }

    private int runPollers(Poller[] ps) {
        int work = 0;
        for (int i = 0; i < ps.length; i++) {
            Poller p = ps[i];
            try {
                work += p.poll();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, roleName() + ": poller " + p + " threw and is removed", t);
                removePoller(p);
            }
        }
        return work;
    }

    /** True when the ring owes completions other than the wakeup eventfd's standing read. */
    boolean ioInFlight() {
        return ring.inFlight() > 1;
    }

    /** Sleeps in the kernel until a completion, a message or the next timer. Called by the idle strategy. */
    void park() {
        sleeping = true;
        try {
            if (closing || !messages.isEmpty() || !ownOverflow.isEmpty() || ring.completionsReady() > 0) {
                return;
            }
            long timeout = maxParkNanos;
            if (timers.size() > 0) {
                // Read the clock afresh: the idle strategy spun and yielded since this cycle began.
                // With a manual clock this is a bound only; moving the clock wakes the reactor.
                timeout = Math.clamp(timers.earliestDeadline() - clock.nanoTime(), 0, timeout);
            }
            if (timeout > 0) {
                parks++;
                ring.submitAndWaitTimeout(timeout);
            }
        } finally {
            sleeping = false;
        }
    }

    @Override
    public void onClose() {
        // Messages that raced with close() are run, so that their submitters' futures complete;
        // the ring is still open here.
        messages.drain(messageRunner);
        runOwnOverflow(Integer.MAX_VALUE);
        if (clock instanceof ManualNanoClock manual) {
            manual.unregister(clockWaker);
        }
        if (ring != null) {
            ring.close();
        }
        wakeup.close();
        CURRENT.remove();
        closed.complete(null);
    }

    private void onError(Throwable t) {
        LOG.log(System.Logger.Level.ERROR, roleName() + ": duty cycle failed", t);
    }

    @Override
    public String roleName() {
        return "reactor-" + id;
    }

    /**
     * Stops the thread after its current cycle, closes the ring and eventfd, and waits for
     * all of it. Whoever owns pollers, channels or handlers on this reactor closes them first.
     * Any thread but the reactor's own.
     */
    @Override
    public void close() {
        if (isCurrent()) {
            throw new IllegalStateException("a reactor cannot close itself");
        }
        if (closing) {
            closed.join();
            return;
        }
        closing = true;
        CoreOccupancy.unregister(this);
        if (runner == null) {
            wakeup.close();
            closed.complete(null);
            return;
        }
        wakeup.signal();
        runner.close();
        closed.join();
    }

    private void checkThread() {
        if (thread != null && Thread.currentThread() != thread && !closing) {
            throw new IllegalStateException(roleName() + ": called from " + Thread.currentThread().getName()
                    + ", but this is reactor-confined");
        }
    }

    @Override
    public String toString() {
        return roleName() + (cpu >= 0 ? "@cpu" + cpu : "") + (sharesCore ? " (shared core)" : "");
    }
}
