package io.panastor.engine.bdev.fault;

import io.panastor.engine.bdev.AbstractBdev;
import io.panastor.engine.bdev.Bdev;
import io.panastor.engine.bdev.BdevClaim;
import io.panastor.engine.bdev.IoChannel;
import io.panastor.engine.bdev.IoStatus;
import io.panastor.engine.bdev.IoType;
import io.panastor.engine.bdev.fault.Rules.Mode;
import io.panastor.natives.Errno;
import io.panastor.reactor.Reactor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;

/**
 * Test bdev {@code fault:///NAME?base=BASE}: forwards IO to its (claimed) base and lets a test
 * inject faults on the fly. Find one with {@link #get(String)}; every injector returns the bdev,
 * so calls chain: {@code FaultBdev.get("f0").fail(IoType.WRITE, Errno.EIO)}. A fault applies to
 * IO submitted after the call returns; {@link #heal()} goes back to normal.
 *
 * <p>Thread-safety: the injectors from any thread but a reactor (those that act on held IO —
 * {@link #releaseHung}, {@link #heal}, {@link #removeDevice} — wait for each channel's reactor to
 * do it). The rules are one immutable value published through a volatile field and read
 * once per IO by the reactors; counters are atomics. Nothing locks per IO.
 */
public final class FaultBdev extends AbstractBdev {
    private static final Map<String, FaultBdev> BY_NAME = new ConcurrentHashMap<>();

    final Bdev base;
    volatile Rules rules = Rules.NORMAL;
    /** Set by {@link #removeDevice} or when the base is hot-removed: all IO fails with ENODEV. */
    volatile boolean gone;
    /** Set by {@link #failNewChannels}: a channel asked for from now on cannot be made. */
    private volatile boolean noNewChannels;
    final AtomicLongArray seen = new AtomicLongArray(IoType.values().length);
    final AtomicLongArray reached = new AtomicLongArray(IoType.values().length);
    final AtomicInteger heldNow = new AtomicInteger();
    private final List<FaultChannel> channels = new CopyOnWriteArrayList<>();
    private volatile BdevClaim claim;

    FaultBdev(String name, String uri, Bdev base) {
        super(name, UUID.randomUUID(), uri, base.blockSize(), base.blockCount());
        this.base = base;
        BY_NAME.put(name, this);
    }

    /** The live fault bdev named {@code name}; IllegalArgumentException when there is none. */
    public static FaultBdev get(String name) {
        FaultBdev f = BY_NAME.get(name);
        if (f == null) {
            throw new IllegalArgumentException("no fault bdev named " + name);
        }
        return f;
    }

    @Override
    public String productName() {
        return "Fault injection (test)";
    }

    @Override
    public int bufferAlignment() {
        return base.bufferAlignment();
    }

    public Bdev base() {
        return base;
    }

    // ------------------------------------------------------------ injectors

    /** Every IO of {@code type} from now on completes IO_ERROR with {@code errno}, without reaching the base. */
    public FaultBdev fail(IoType type, int errno) {
        return rule(r -> r.with(type, Mode.FAIL, errno, 0, 0));
    }

    /** Every IO of {@code type} from now on reaches the base, and then completes IO_ERROR with {@code errno}. */
    public FaultBdev failAfterReachingBase(IoType type, int errno) {
        return rule(r -> r.with(type, Mode.FAIL_AT_BASE, errno, 0, 0));
    }

    /** The next {@code n} IOs of {@code type} pass; every one after them fails as {@link #fail} with EIO. */
    public FaultBdev failAfter(IoType type, int n) {
        return failAfter(type, n, Errno.EIO);
    }

    /** The next {@code n} IOs of {@code type} pass; every one after them fails as {@link #fail} with {@code errno}. */
    public FaultBdev failAfter(IoType type, int n, int errno) {
        return rule(r -> r.with(type, Mode.FAIL_AFTER, errno, 0, n));
    }

    /** Every IO of {@code type} from now on completes {@link IoStatus#NO_SPACE}, without reaching the base. */
    public FaultBdev noSpace(IoType type) {
        return rule(r -> r.with(type, Mode.NO_SPACE, 0, 0, 0));
    }

    /** Every IO of {@code type} from now on completes {@link IoStatus#NO_RESOURCES} (a full ring), without reaching the base. */
    public FaultBdev noResources(IoType type) {
        return rule(r -> r.with(type, Mode.NO_RESOURCES, 0, 0, 0));
    }

    /** Every IO of {@code type} from now on is held, never reaching the base, until {@link #releaseHung} or {@link #heal}. */
    public FaultBdev hang(IoType type) {
        return hang(type, 0);
    }

    /**
     * As {@link #hang(IoType)}, but an IO held for {@code timeoutNanos} (on its reactor's
     * clock; 0 = for ever) completes IO_ERROR with ETIMEDOUT: a device that times out.
     */
    public FaultBdev hang(IoType type, long timeoutNanos) {
        return rule(r -> r.with(type, Mode.HANG, Errno.ETIMEDOUT, timeoutNanos, 0));
    }

    /** Every IO of {@code type} from now on waits {@code nanos} on its reactor's clock, then goes to the base. */
    public FaultBdev delay(IoType type, long nanos) {
        return rule(r -> r.with(type, Mode.DELAY, 0, nanos, 0));
    }

    /** Every read from now on has one byte flipped in each block, after the base read it successfully. */
    public FaultBdev corruptReads() {
        return rule(r -> r.corrupting(true));
    }

    /**
     * Ends every hang: IO held by one goes to the base now, in the order it came. Waits for the
     * reactors. (Not {@code release()}: that name is {@link AbstractBdev}'s, for freeing the device.)
     */
    public FaultBdev releaseHung() {
        rule(Rules::withoutHangs);
        onEveryChannel(FaultChannel::releaseHeld);
        return this;
    }

    /**
     * Ends every hang with a failure: IO held by one completes IO_ERROR with {@code errno} now,
     * never reaching the base (a device that failed IO it had taken). Waits for the reactors.
     */
    public FaultBdev failHung(int errno) {
        rule(Rules::withoutHangs);
        onEveryChannel(ch -> ch.failHung(errno));
        return this;
    }

    /**
     * A channel on a reactor that has none yet cannot be made from now on (as a ring that
     * cannot be set up): {@link #channel} throws there. Channels made already go on.
     */
    public FaultBdev failNewChannels() {
        noNewChannels = true;
        return this;
    }

    /** Back to normal: no fault, and any held IO goes to the base now. Waits for the reactors. */
    public FaultBdev heal() {
        rule(r -> Rules.NORMAL);
        onEveryChannel(FaultChannel::releaseHeld);
        return this;
    }

    /**
     * Hot-remove: every held IO fails (IO_ERROR, ENODEV), as will every IO from now on and any
     * base IO still out, and then the bdev reports itself removed, so the registry unregisters
     * it, tells its claimant and destroys it. Waits for the reactors.
     */
    public void removeDevice() {
        gone = true;
        onEveryChannel(FaultChannel::failAll);
        removed("fault injected: device removed");
    }

    // ------------------------------------------------------------ counters

    /** IOs of {@code type} submitted to this bdev (that passed the channel's checks). */
    public long seen(IoType type) {
        return seen.get(type.ordinal());
    }

    /** IOs of {@code type} forwarded to the base. */
    public long reachedBase(IoType type) {
        return reached.get(type.ordinal());
    }

    /** IOs held now (hung or delayed), over every reactor. */
    public int held() {
        return heldNow.get();
    }

    // ------------------------------------------------------------ internals

    private synchronized FaultBdev rule(java.util.function.UnaryOperator<Rules> change) {
        rules = change.apply(rules);
        return this;
    }

    private void onEveryChannel(Consumer<FaultChannel> action) {
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (FaultChannel ch : channels) {
            done.add(ch.reactor().run(() -> action.accept(ch)).exceptionally(t -> null));
        }
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).join();
    }

    void claimed(BdevClaim c) {
        claim = c;
    }

    /** The base's removal listener: as {@link #removeDevice}. */
    void baseRemoved(BdevClaim c) {
        gone = true;
        onEveryChannel(FaultChannel::failAll);
        removed("base bdev " + base.name() + " was removed: " + c.removedReason());
    }

    @Override
    protected IoChannel createChannel(Reactor reactor) {
        if (noNewChannels) {
            throw new IllegalStateException("fault injected: no channel of " + name() + " on " + reactor);
        }
        FaultChannel c = new FaultChannel(this, reactor);
        channels.add(c);
        return c;
    }

    void channelClosed(FaultChannel c) {
        channels.remove(c);
    }

    @Override
    protected void release() {
        BY_NAME.remove(name(), this);
        BdevClaim c = claim;
        if (c != null) {
            c.close();
        }
    }
}
