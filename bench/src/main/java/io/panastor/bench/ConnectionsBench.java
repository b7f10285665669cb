package io.panastor.bench;

import static io.panastor.engine.nvmf.proto.TcpPdu.*;

import io.panastor.engine.Engine;
import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.nvmf.host.NvmfUri;
import io.panastor.engine.nvmf.proto.ConnectCommand;
import io.panastor.engine.nvmf.proto.ConnectData;
import io.panastor.engine.nvmf.proto.ControllerRegisters;
import io.panastor.engine.nvmf.proto.NvmeCompletion;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.proto.PropertyCommand;
import io.panastor.engine.nvmf.tgt.NvmfTarget;
import io.panastor.natives.OpenFileLimit;
import io.panastor.reactor.Reactor;
import io.panastor.reactor.Reactors;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code panastor bench connections}: how many idle NVMe/TCP connections a target holds and
 * what they cost. Opens {@code --count} connections — controllers of one admin queue and up
 * to 63 IO queues each, every one through ICReq and Connect — holds them idle, and reports
 * the time to open them and, for the engine it starts itself (no TARGET), the native memory
 * per connection by the target's own accounting, the RSS growth per connection, and the CPU
 * the reactors and the whole process used while the connections sat idle. With a TARGET
 * ({@code nvmf://host:port/nqn}) only the client side is measured.
 */
@Command(name = "connections", mixinStandardHelpOptions = true,
        description = "Open --count idle NVMe/TCP connections and report what holding them costs.")
final class ConnectionsBench implements Callable<Integer> {
    static final String NQN = "nqn.2026-11.io.panastor:connections";
    static final String HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000c0a11";
    /** IO queues per controller (it grants 64; one QID spare). */
    static final int IO_QUEUES_PER_CONTROLLER = 63;
    /** Descriptors a JVM and an engine use beside connections. */
    static final long FILES_RESERVED = 256;

    @Parameters(paramLabel = "TARGET", arity = "0..1",
            description = "nvmf://host:port/nqn of a running target; default: an engine started here")
    String target;

    @Option(names = "--count", description = "Connections to open (admin and IO queues). Default: ${DEFAULT-VALUE}")
    int count = 1000;

    @Option(names = "--reactors", description = "Reactors of the engine started here. Default: ${DEFAULT-VALUE}")
    int reactors = 2;

    @Option(names = "--idle-seconds", description = "How long the connections sit idle while CPU is counted. "
            + "Default: ${DEFAULT-VALUE}")
    int idleSeconds = 10;

    @Option(names = "--sqsize", description = "Entries each IO queue asks for. Default: ${DEFAULT-VALUE}")
    int entries = 128;

    @Spec
    CommandSpec spec;

    /** How long a connect, and then each answer, may take ({@code connect_timeout_ms} of the TARGET). */
    private int connectTimeoutMillis = NvmfUri.DEFAULT_CONNECT_TIMEOUT_MILLIS;

    @Override
    public Integer call() throws Exception {
        Options.require(spec.commandLine(), count >= 1, "--count", count, "at least 1");
        // Every connection is a descriptor on each side when the engine runs here.
        long wanted = (target == null ? 2L : 1L) * count;
        OpenFileLimit files = OpenFileLimit.raiseAtLeast(wanted + FILES_RESERVED);
        if (!files.allows(wanted, FILES_RESERVED)) {
            System.err.printf("open-file limit %d (hard limit %d) is too low for %d connections%s: %d descriptors "
                            + "are needed; raise it (ulimit -n / -Hn, LimitNOFILE=) or ask for fewer%n", files.soft(),
                    files.hard(), count, target == null ? " with the engine in this process" : "",
                    wanted + FILES_RESERVED);
            return 2;
        }
        if (target != null) {
            NvmfUri u;
            try {
                u = NvmfUri.of(BdevUri.parse(target));
            } catch (RuntimeException e) {
                throw new ParameterException(spec.commandLine(), "TARGET " + target + ": " + e.getMessage());
            }
            connectTimeoutMillis = u.connectTimeoutMillis();
            return run(new InetSocketAddress(u.host(), u.port()), u.nqn(), null, null);
        }
        try (Engine engine = Engine.start(Reactors.builder().count(reactors))) {
            Engine.await(engine.createBdev("malloc:///conn0?size_mb=16&blk_size=4096"));
            Engine.await(engine.createSubsystem(NQN, "SN-CONN", "Panastor connections bench", true, List.of()));
            Engine.await(engine.addNamespace(NQN, "conn0", 1));
            InetSocketAddress a = Engine.await(engine.addListener("127.0.0.1", 0));
            return run(a, NQN, engine.target(), engine.reactors());
        }
    }

    private int run(InetSocketAddress address, String nqn, NvmfTarget t, Reactors rs) throws Exception {
        long rssBefore = rssBytes();
        long nativeBefore = t == null ? 0 : t.nativeBytes();
        List<SocketChannel> open = new ArrayList<>(count);
        long start = System.nanoTime();
        try {
            int cntlid = -1;
            int qid = 0;
            for (int i = 0; i < count; i++) {
                SocketChannel c = SocketChannel.open();
                open.add(c);
                try {
                    c.socket().connect(address, connectTimeoutMillis);
                } catch (SocketTimeoutException e) {
                    throw new IOException("no TCP connection to " + address + " within " + connectTimeoutMillis + " ms");
                }
                c.socket().setSoTimeout(connectTimeoutMillis);
                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                icReq(c);
                if (cntlid < 0 || qid == IO_QUEUES_PER_CONTROLLER) {
                    cntlid = connect(c, 0, 32, ConnectCommand.CNTLID_DYNAMIC, nqn);
                    enable(c);
                    qid = 0;
                } else {
                    connect(c, ++qid, entries, cntlid, nqn);
                }
            }
            double openSeconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("opened %d connections (%d controllers) in %.1f s%n", count,
                    (count + IO_QUEUES_PER_CONTROLLER) / (IO_QUEUES_PER_CONTROLLER + 1), openSeconds);
            Thread.sleep(1000);     // let the last ones settle before counting
            long rssOpen = rssBytes();
            long cpu0 = processCpuNanos();
            long reactorCpu0 = reactorCpuNanos(rs);
            long wall0 = System.nanoTime();
            Thread.sleep(idleSeconds * 1000L);
            double wall = (System.nanoTime() - wall0) / 1e9;
            double processCore = (processCpuNanos() - cpu0) / 1e9 / wall * 100;
            System.out.printf("idle %.1f s with %d connections: process CPU %.2f %% of a core%n", wall, count,
                    processCore);
            if (t != null) {
                double reactorCore = (reactorCpuNanos(rs) - reactorCpu0) / 1e9 / wall * 100;
                long connections = t.connections().size();
                long perConnection = (t.counters().connectionBytes()) / Math.max(1, connections);
                System.out.printf("engine: %d connections held by %d reactors, reactor CPU %.2f %% of a core "
                        + "(all reactors together)%n", connections, rs.size(), reactorCore);
                System.out.printf("native memory (engine accounting): %d B per connection (%.1f KiB), %d B in the "
                                + "reactors' shared data pools, %d B in all (%d B before)%n", perConnection,
                        perConnection / 1024.0, t.counters().poolBytes(), t.nativeBytes(), nativeBefore);
                System.out.printf("RSS: %d MiB before, %d MiB with the connections open: %.1f KiB per connection "
                        + "(both sides of each, Java heap included)%n", rssBefore >> 20, rssOpen >> 20,
                        (rssOpen - rssBefore) / 1024.0 / count);
            }
        } finally {
            for (SocketChannel c : open) {
                try {
                    c.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
        }
        return 0;
    }

    // ---------------------------------------------------------------- a minimal host, on the proto flyweights

    private static void icReq(SocketChannel c) throws IOException {
        MemorySegment s = MemorySegment.ofArray(new byte[IC_LENGTH]);
        header(s, 0, ICREQ, 0, IC_LENGTH, 0, IC_LENGTH);
        send(c, s);
        MemorySegment r = readPdu(c);
        if (type(r, 0) != ICRESP) {
            throw new IOException(c.getRemoteAddress() + ": expected ICResp, got PDU type " + type(r, 0));
        }
    }

    /** Connects a queue; returns the CNTLID. */
    private static int connect(SocketChannel c, int qid, int entries, int cntlid, String nqn) throws IOException {
        MemorySegment s = MemorySegment.ofArray(new byte[CAPSULE_CMD_HLEN + ConnectData.SIZE]);
        int plen = CAPSULE_CMD_HLEN + ConnectData.SIZE;
        header(s, 0, CAPSULE_CMD, 0, CAPSULE_CMD_HLEN, CAPSULE_CMD_HLEN, plen);
        ConnectCommand.write(s, SQE_OFFSET, qid, qid, entries, 0, 0);
        ConnectData.write(s, CAPSULE_CMD_HLEN, null, cntlid, nqn, HOST_NQN);
        send(c, s);
        return ConnectCommand.cntlid((int) response(c, "Connect of queue " + qid));
    }

    private static void enable(SocketChannel c) throws IOException {
        MemorySegment s = MemorySegment.ofArray(new byte[CAPSULE_CMD_HLEN]);
        header(s, 0, CAPSULE_CMD, 0, CAPSULE_CMD_HLEN, 0, CAPSULE_CMD_HLEN);
        PropertyCommand.writeSet(s, SQE_OFFSET, 1, ControllerRegisters.CC, ControllerRegisters.CC_ENABLE);
        send(c, s);
        response(c, "Property Set CC.EN");
    }

    /** DW0 of the CapsuleResp that answers; an error status throws. */
    private static long response(SocketChannel c, String what) throws IOException {
        MemorySegment r = readPdu(c);
        if (type(r, 0) != CAPSULE_RESP) {
            throw new IOException(what + ": expected a CapsuleResp, got PDU type " + type(r, 0));
        }
        int status = NvmeCompletion.status(r, CQE_OFFSET);
        if (status != NvmeStatus.SUCCESS) {
            throw new IOException(what + " failed: " + NvmeStatus.describe(status));
        }
        return NvmeCompletion.dw0(r, CQE_OFFSET);
    }

    private static void send(SocketChannel c, MemorySegment s) throws IOException {
        ByteBuffer b = s.asByteBuffer();
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static MemorySegment readPdu(SocketChannel c) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(COMMON_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        readFully(c, h);
        MemorySegment header = MemorySegment.ofArray(h.array());
        long plen = plen(header, 0);
        int type = type(header, 0);
        if (type != ICRESP && type != CAPSULE_RESP && type != C2H_TERM_REQ || plen < COMMON_HEADER_LENGTH
                || plen > 1 << 20) {
            String text = new String(h.array(), java.nio.charset.StandardCharsets.US_ASCII).replaceAll("[^ -~]", ".");
            throw new IOException("not an NVMe/TCP target at " + c.getRemoteAddress() + ": it answered \"" + text
                    + "\" (PDU type " + type + ", length " + plen + ")");
        }
        ByteBuffer p = ByteBuffer.allocate((int) plen).order(ByteOrder.LITTLE_ENDIAN);
        p.put(h.flip());
        readFully(c, p);
        return MemorySegment.ofArray(p.array());
    }

    /** Reads through the socket's stream, which keeps to SO_TIMEOUT (a channel read would wait forever). */
    private static void readFully(SocketChannel c, ByteBuffer b) throws IOException {
        java.io.InputStream in = c.socket().getInputStream();
        while (b.hasRemaining()) {
            int n;
            try {
                n = in.read(b.array(), b.arrayOffset() + b.position(), b.remaining());
            } catch (SocketTimeoutException e) {
                throw new IOException(c.getRemoteAddress() + " sent no answer within " + c.socket().getSoTimeout()
                        + " ms (is it an NVMe/TCP target?)");
            }
            if (n < 0) {
                throw new IOException(c.getRemoteAddress() + " closed the connection");
            }
            b.position(b.position() + n);
        }
    }

    // ---------------------------------------------------------------- measuring

    static long rssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static long reactorCpuNanos(Reactors rs) {
        if (rs == null) {
            return 0;
        }
        long sum = 0;
        for (Reactor r : rs.all()) {
            Thread th = r.thread();
            if (th != null) {
                sum += Math.max(0, ManagementFactory.getThreadMXBean().getThreadCpuTime(th.threadId()));
            }
        }
        return sum;
    }
}
