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
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.DeadlineTimerWheel;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

/**
 * One run-to-completion event loop on one platform thread, pinned to one core: the unit of
 * execution of the data plane, as an SPDK reactor is.
 *
 * <p>Its duty cycle ({@link #doWork()}) drains the message queue (bounded), fires due
 * timers, runs pollers, reaps completions from its {@link IoUring} and dispatches each to
 * the handler named in its user data, then submits the SQEs that work queued, in one
 * system call. Nothing in it blocks or takes a lock; when a cycle finds nothing to do, the
 * {@link ReactorIdleStrategy} spins, then parks in {@code io_uring_enter}.
 *
 * <p>Thread-safety: {@link #execute}, {@link #submit}, {@link #call} and {@link #close()}
 * from any thread; everything else is reactor-confined (call it from code the reactor runs).
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
    /** Timer wheel tick (about one millisecond; a power of two). */
    static final long TIMER_TICK_NANOS = 1L << 20;
    static final int TIMER_TICKS_PER_WHEEL = 512;
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
    private final DeadlineTimerWheel timers;
    private final Long2ObjectHashMap<Runnable> timerTasks = new Long2ObjectHashMap<>();
    private final CompletableFuture<Void> started = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private volatile boolean sleeping;
    private volatile boolean closing;
    private AgentRunner runner;
    private Thread thread;

    private Poller[] pollers = new Poller[0];
    private CompletionHandler[] handlers = new CompletionHandler[8];
    private int handlerCount;
    private final CompletionHandler dispatcher = this::dispatch;
    private final java.util.function.Consumer<Runnable> messageRunner = this::runMessage;
    private final DeadlineTimerWheel.TimerHandler timerRunner = this::onTimerExpiry;
    private final DeadlineTimerWheel.TimerConsumer earliestFinder = this::considerDeadline;
    private long earliestDeadline;

    private long cycles;
    private long parks;

    /**
     * @param id          reactor index, used in its thread's name
     * @param cpu         core to pin the thread to, or -1 to leave it unpinned
     * @param ringEntries SQ entries of the reactor's io_uring
     */
    public Reactor(int id, int cpu, int ringEntries) {
        this.id = id;
        this.cpu = cpu;
        this.ringEntries = ringEntries;
        this.wakeup = new EventFd();
        this.timers = new DeadlineTimerWheel(TimeUnit.NANOSECONDS, System.nanoTime(), TIMER_TICK_NANOS,
                TIMER_TICKS_PER_WHEEL);
        handlers[WAKEUP_HANDLER] = (token, res, flags) -> onWakeup();
        handlerCount = 1;
    }

    /** Starts the reactor's thread and waits until it runs its first cycle. Control path. */
    public Reactor start() {
        runner = new AgentRunner(new ReactorIdleStrategy(this), this::onError, null, this);
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

    public int id() {
        return id;
    }

    /** The core this reactor is pinned to, or -1. */
    public int cpu() {
        return cpu;
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

    public Thread thread() {
        return thread;
    }

    // ---------------------------------------------------------------- messages

    /** Runs {@code task} on this reactor. Any thread; never blocks unless the queue is full. */
    @Override
    public void execute(Runnable task) {
        if (closing) {
            throw new RejectedExecutionException(roleName() + " is stopped");
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
        Poller[] p = Arrays.copyOf(pollers, pollers.length + 1);
        p[p.length - 1] = poller;
        pollers = p;
    }

    /** Removes a poller; true if it was there. Reactor-confined. */
    public boolean removePoller(Poller poller) {
        checkThread();
        for (int i = 0; i < pollers.length; i++) {
            if (pollers[i] == poller) {
                Poller[] p = new Poller[pollers.length - 1];
                System.arraycopy(pollers, 0, p, 0, i);
                System.arraycopy(pollers, i + 1, p, i, pollers.length - i - 1);
                pollers = p;
                return true;
            }
        }
        return false;
    }

    public int pollerCount() {
        return pollers.length;
    }

    // ---------------------------------------------------------------- timers

    /** Runs {@code task} once after {@code delayNanos}; returns an id for {@link #cancelTimer}. Reactor-confined. */
    public long scheduleTimer(long delayNanos, Runnable task) {
        checkThread();
        long now = System.nanoTime();
        if (timers.timerCount() == 0) {
            // The wheel advances one tick per poll: after an idle spell with no timers, move
            // it to now instead of making it walk every tick it missed.
            timers.currentTickTime(now);
        }
        long timerId = timers.scheduleTimer(now + Math.max(0, delayNanos));
        timerTasks.put(timerId, task);
        return timerId;
    }

    /** Cancels a timer that has not fired; true if it was pending. Reactor-confined. */
    public boolean cancelTimer(long timerId) {
        checkThread();
        timerTasks.remove(timerId);
        return timers.cancelTimer(timerId);
    }

    private boolean onTimerExpiry(TimeUnit unit, long now, long timerId) {
        Runnable task = timerTasks.remove(timerId);
        if (task != null) {
            try {
                task.run();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, roleName() + ": timer task failed", t);
            }
        }
        return true;
    }

    private void considerDeadline(long deadline, long timerId) {
        if (deadline < earliestDeadline) {
            earliestDeadline = deadline;
        }
    }

    // ---------------------------------------------------------------- ring completions

    /**
     * Registers a handler for this reactor's ring completions and returns its id; an SQE
     * whose user data is {@link #userData(int, long) userData(id, token)} completes to
     * {@code handler.onCompletion(token, res, flags)}. Reactor-confined.
     */
    public int registerCompletionHandler(CompletionHandler handler) {
        checkThread();
        for (int i = 1; i < handlerCount; i++) {
            if (handlers[i] == null) {
                handlers[i] = handler;
                return i;
            }
        }
        if (handlerCount == handlers.length) {
            handlers = Arrays.copyOf(handlers, handlers.length * 2);
        }
        handlers[handlerCount] = handler;
        return handlerCount++;
    }

    /** Frees a handler id once no SQE carrying it is in flight. Reactor-confined. */
    public void unregisterCompletionHandler(int handlerId) {
        checkThread();
        if (handlerId <= WAKEUP_HANDLER || handlerId >= handlerCount) {
            throw new IllegalArgumentException("no completion handler " + handlerId);
        }
        handlers[handlerId] = null;
    }

    /** The user data that routes a completion to {@code handlerId} with {@code token} (48 bits). */
    public static long userData(int handlerId, long token) {
        return ((long) handlerId << HANDLER_SHIFT) | (token & TOKEN_MASK);
    }

    private void dispatch(long userData, int res, int flags) {
        int handlerId = (int) (userData >>> HANDLER_SHIFT);
        CompletionHandler h = handlerId < handlerCount ? handlers[handlerId] : null;
        if (h == null) {
            LOG.log(System.Logger.Level.WARNING, "{0}: completion for unknown handler {1} (res {2}) dropped",
                    roleName(), handlerId, res);
            return;
        }
        h.onCompletion(userData & TOKEN_MASK, res, flags);
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
            if (cpu >= 0) {
                Cpu.pinCurrentThread(cpu);
            }
            ring = createRing(ringEntries);
            armWakeup();
            ring.submit();
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
        int work = messages.drain(messageRunner, MESSAGE_DRAIN_LIMIT);
        if (timers.timerCount() > 0) {
            work += timers.poll(System.nanoTime(), timerRunner, TIMER_EXPIRY_LIMIT);
        }
        Poller[] ps = pollers;
        for (int i = 0; i < ps.length; i++) {
            Poller p = ps[i];
            try {
                work += p.poll();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, roleName() + ": poller " + p + " threw and is removed", t);
                removePoller(p);
            }
        }
        // Completions, and the SQEs this cycle queued, in one system call at most.
        work += ring.submitAndReap(dispatcher, COMPLETION_REAP_LIMIT);
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
            if (closing || !messages.isEmpty() || ring.completionsReady() > 0) {
                return;
            }
            long timeout = MAX_PARK_NANOS;
            if (timers.timerCount() > 0) {
                earliestDeadline = Long.MAX_VALUE;
                timers.forEach(earliestFinder);
                timeout = Math.max(0, Math.min(timeout, earliestDeadline - System.nanoTime()));
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
        return roleName() + (cpu >= 0 ? "@cpu" + cpu : "");
    }
}
