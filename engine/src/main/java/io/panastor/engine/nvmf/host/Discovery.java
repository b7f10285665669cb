package io.panastor.engine.nvmf.host;

import io.panastor.engine.error.EngineException;
import io.panastor.engine.nvmf.proto.DiscoveryLog;
import io.panastor.engine.nvmf.proto.LogPage;
import io.panastor.engine.nvmf.proto.NvmeOpcodes;
import io.panastor.engine.stats.DiscoveryEntry;
import io.panastor.natives.Errno;
import io.panastor.reactor.Reactor;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;

/**
 * A discovery client: connects an {@link AdminQueue} to the discovery controller
 * ({@link NvmeOpcodes#DISCOVERY_NQN}) at an address, reads its discovery log page and
 * disconnects (NVMe over Fabrics 1.1 §5.3). The page is read as the NVMe base spec asks
 * (2.0 §5.16.1.23): the header for GENCTR and NUMREC, then the entries in order, then the
 * header again; a GENCTR that changed meanwhile means the entries may be inconsistent, and
 * the page is read again.
 *
 * <p>Errors are {@link EngineException}s that name the address: UNAVAILABLE for an address
 * that cannot be reached (refused, unreachable) or that does not answer within the timeout,
 * IO_ERROR for a peer that does not speak NVMe/TCP or whose discovery controller refuses.
 *
 * <p>Thread-safety: {@link #discover} from any thread; the work runs on the reactor given.
 */
public final class Discovery {
    /** Bytes one Get Log Page asks for: within any MDTS a controller may have (2^1 pages of 4 KiB). */
    static final int LOG_CHUNK_BYTES = 8192;
    /** Records we accept in one page (4 MiB of entries); more is an error rather than an allocation. */
    static final long MAX_RECORDS = 4096;
    /** Times the page is read while its GENCTR keeps changing before giving up. */
    static final int MAX_READS = 4;
    /** The admin queue's own deadlines come this much after ours, so that ours is the one that fires. */
    private static final long MARGIN_MILLIS = 1000;
    /** Keep-alive timeout asked for in Connect: the exchange takes far less. */
    private static final int KEEP_ALIVE_MILLIS = 10_000;

    private final Reactor reactor;
    private final String where;
    private final NvmfUri uri;
    private final Duration timeout;
    private final CompletableFuture<List<DiscoveryEntry>> result = new CompletableFuture<>();
    private AdminQueue admin;
    private long deadline = -1;

    private Discovery(Reactor reactor, String host, int port, String hostNqn, Duration timeout) {
        this.reactor = reactor;
        this.where = NvmfUri.address(host, port);
        this.timeout = timeout;
        int millis = (int) (Math.min(Integer.MAX_VALUE - MARGIN_MILLIS, Math.max(1, timeout.toMillis())) + MARGIN_MILLIS);
        this.uri = new NvmfUri("nvmf://" + where + "/" + NvmeOpcodes.DISCOVERY_NQN, host, port,
                NvmeOpcodes.DISCOVERY_NQN, 0, hostNqn == null ? NvmfUri.DEFAULT_HOST_NQN : hostNqn, false, false,
                millis, KEEP_ALIVE_MILLIS, millis, 0);
    }

    /**
     * Reads the discovery log of the discovery controller at {@code host:port} as
     * {@code hostNqn} (null: {@link NvmfUri#DEFAULT_HOST_NQN}), on {@code reactor}, within
     * {@code timeout}, and disconnects. Any thread.
     */
    public static CompletableFuture<List<DiscoveryEntry>> discover(Reactor reactor, String host, int port,
                                                                   String hostNqn, Duration timeout) {
        Discovery d = new Discovery(reactor, host, port, hostNqn, timeout);
        try {
            reactor.execute(d::start);
        } catch (RejectedExecutionException e) {
            d.result.completeExceptionally(new EngineException(EngineException.Reason.UNAVAILABLE,
                    "the engine's reactors are stopped"));
        }
        return d.result;
    }

    private void start() {
        deadline = reactor.scheduleTimer(timeout.toNanos(), () -> {
            deadline = -1;
            fail(new EngineException(EngineException.Reason.UNAVAILABLE,
                    "no answer from " + where + " within " + seconds(timeout)));
        });
        AdminQueue.attach(uri, reactor).whenComplete((a, t) -> {
            if (t != null) {
                fail(attachFailure(t));
                return;
            }
            admin = a;
            if (result.isDone()) {
                a.closeAsync();     // too late: the deadline passed
                return;
            }
            read(1);
        });
    }

    private void read(int attempt) {
        admin.getLogPageAsync(LogPage.LID_DISCOVERY, 0, DiscoveryLog.HEADER_SIZE).thenCompose(header -> {
            MemorySegment h = MemorySegment.ofArray(header);
            long generation = DiscoveryLog.generation(h, 0);
            long records = DiscoveryLog.records(h, 0);
            if (records < 0 || records > MAX_RECORDS) {
                throw new CompletionException(new EngineException(EngineException.Reason.IO_ERROR, "the discovery "
                        + "controller at " + where + " reports " + Long.toUnsignedString(records) + " records (at most "
                        + MAX_RECORDS + " are read)"));
            }
            byte[] page = new byte[(int) DiscoveryLog.entry((int) records)];
            System.arraycopy(header, 0, page, 0, DiscoveryLog.HEADER_SIZE);
            return readEntries(page, DiscoveryLog.HEADER_SIZE)
                    .thenCompose(v -> admin.getLogPageAsync(LogPage.LID_DISCOVERY, 0, DiscoveryLog.HEADER_SIZE))
                    .thenApply(again -> DiscoveryLog.generation(MemorySegment.ofArray(again), 0) == generation
                            ? page : null);
        }).whenComplete((page, t) -> {
            if (t != null) {
                fail(t);
            } else if (page != null) {
                succeed(decode(page));
            } else if (attempt < MAX_READS) {
                read(attempt + 1);
            } else {
                fail(new EngineException(EngineException.Reason.UNAVAILABLE, "the discovery log at " + where
                        + " changed in each of " + MAX_READS + " reads: try again"));
            }
        });
    }

    /** Reads {@code page} from byte {@code from} to its end, {@link #LOG_CHUNK_BYTES} at a time, in order. */
    private CompletableFuture<Void> readEntries(byte[] page, int from) {
        if (from >= page.length) {
            return CompletableFuture.completedFuture(null);
        }
        int length = Math.min(LOG_CHUNK_BYTES, page.length - from);
        return admin.getLogPageAsync(LogPage.LID_DISCOVERY, from, length).thenCompose(chunk -> {
            System.arraycopy(chunk, 0, page, from, length);
            return readEntries(page, from + length);
        });
    }

    private static List<DiscoveryEntry> decode(byte[] page) {
        MemorySegment s = MemorySegment.ofArray(page);
        int records = (int) DiscoveryLog.records(s, 0);
        List<DiscoveryEntry> entries = new ArrayList<>(records);
        for (int i = 0; i < records; i++) {
            long at = DiscoveryLog.entry(i);
            entries.add(new DiscoveryEntry(DiscoveryLog.trtypeName(DiscoveryLog.trtype(s, at)),
                    DiscoveryLog.adrfamName(DiscoveryLog.adrfam(s, at)),
                    DiscoveryLog.subtypeName(DiscoveryLog.subtype(s, at)), DiscoveryLog.address(s, at),
                    DiscoveryLog.serviceId(s, at), DiscoveryLog.subNqn(s, at), DiscoveryLog.portId(s, at),
                    DiscoveryLog.cntlid(s, at)));
        }
        return entries;
    }

    /** An attach that failed, as what it means for the caller: by the errno the connection ended with. */
    private EngineException attachFailure(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        int errno = t instanceof AdminQueue.AttachFailed f ? f.errno() : Errno.EIO;
        String why = t.getMessage();
        if (errno == Errno.ETIMEDOUT) {
            return new EngineException(EngineException.Reason.UNAVAILABLE, "no answer from " + where + " within "
                    + seconds(timeout) + ": " + why, t);
        }
        if (errno == Errno.EPROTO) {
            return new EngineException(EngineException.Reason.IO_ERROR, where + " does not speak NVMe/TCP: " + why, t);
        }
        if (errno == Errno.EIO) {
            return new EngineException(EngineException.Reason.IO_ERROR, "discovery at " + where + " failed: " + why,
                    t);
        }
        // The TCP connect itself failed: refused, unreachable, reset (the connection's own
        // message names the address already).
        return new EngineException(EngineException.Reason.UNAVAILABLE,
                why != null && why.contains(where) ? why : "cannot reach " + where + ": " + why, t);
    }

    private void succeed(List<DiscoveryEntry> entries) {
        cancelDeadline();
        admin.closeAsync().whenComplete((v, t) -> result.complete(entries));
    }

    /**
     * Ends with {@code t} (the first end wins; anything but an {@link EngineException} is the
     * discovery controller failing, IO_ERROR) and closes the admin queue if it was attached.
     */
    private void fail(Throwable t) {
        cancelDeadline();
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        EngineException e = t instanceof EngineException ee ? ee : new EngineException(EngineException.Reason.IO_ERROR,
                "reading the discovery log at " + where + " failed: " + t.getMessage(), t);
        if (result.completeExceptionally(e) && admin != null) {
            admin.closeAsync();
        }
    }

    private void cancelDeadline() {
        if (deadline >= 0) {
            reactor.cancelTimer(deadline);
            deadline = -1;
        }
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() / 1000.0 + "s";
    }
}
