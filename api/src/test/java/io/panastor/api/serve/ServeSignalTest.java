package io.panastor.api.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code serve} started as a background job of a script (which bash starts with SIGINT
 * ignored) still ends cleanly on SIGINT, and on SIGTERM: exit status 0, its connections closed.
 */
class ServeSignalTest {
    /** Hang detector only: how long a step may take before the test gives up. */
    static final long HANG_SECONDS = 60;

    @TempDir
    Path dir;

    @Test
    void backgroundServeEndsOnSigintWithStatusZeroHavingClosedItsConnections() throws Exception {
        endsOn("INT");
    }

    @Test
    void backgroundServeEndsOnSigtermWithStatusZeroHavingClosedItsConnections() throws Exception {
        endsOn("TERM");
    }

    private void endsOn(String signal) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path out = dir.resolve("out");
        Path pid = dir.resolve("pid");
        Path rc = dir.resolve("rc");
        // Not interactive, so no job control: bash starts the job with SIGINT and SIGQUIT ignored.
        String script = "\"$JAVA\" --enable-native-access=ALL-UNNAMED --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED -cp \"$CP\" io.panastor.api.cli.Panastor serve "
                + "'malloc:///sig0?size_mb=8&blk_size=4096' --cores 0 --listen 127.0.0.1:" + port
                + " > \"$DIR/out\" 2> \"$DIR/err\" &\n"
                + "echo $! > \"$DIR/pid\"\n"
                + "wait $!\n"
                + "echo $? > \"$DIR/rc\"\n";
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", script);
        pb.environment().put("JAVA", java);
        pb.environment().put("CP", cp);
        pb.environment().put("DIR", dir.toString());
        // serve's stdout is a FIFO the test reads: it learns serve is up when the URI line
        // arrives, not by polling a file.
        Process mkfifo = new ProcessBuilder("mkfifo", out.toString()).start();
        assertThat(mkfifo.waitFor(HANG_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(mkfifo.exitValue()).isZero();
        CompletableFuture<String> uri = new CompletableFuture<>();
        Thread reader = Thread.ofPlatform().daemon(true).start(() -> {
            try (BufferedReader r = Files.newBufferedReader(out)) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.startsWith("nvmf://")) {
                        uri.complete(line);
                    }
                }
            } catch (IOException e) {
                uri.completeExceptionally(e);
            }
            uri.complete(null);     // serve's stdout closed before it printed its URI
        });
        Process bash = pb.redirectErrorStream(true).start();
        try {
            String served;
            try {
                served = uri.get(HANG_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                served = null;
            }
            assertThat(served).as("serve printed its URI; stderr: %s",
                    Files.exists(dir.resolve("err")) ? Files.readString(dir.resolve("err")) : "").isNotNull();
            // bash wrote the job's pid before waiting for it, long before serve got this far.
            long javaPid = Long.parseLong(Files.readString(pid).strip());
            try (Socket host = new Socket(InetAddress.getLoopbackAddress(), port)) {
                host.setSoTimeout((int) TimeUnit.SECONDS.toMillis(HANG_SECONDS));
                icReq(host);
                connectAdmin(host, ServeCommand.DEFAULT_NQN);
                Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(javaPid)).start();
                assertThat(kill.waitFor(HANG_SECONDS, TimeUnit.SECONDS)).isTrue();
                assertThat(kill.exitValue()).isZero();
                assertThat(closedByPeer(host)).as("serve closed the connection").isTrue();
            }
            assertThat(bash.waitFor(HANG_SECONDS, TimeUnit.SECONDS)).as("the script ended").isTrue();
            assertThat(Files.readString(rc).strip()).as("serve's exit status; stderr: %s",
                    Files.readString(dir.resolve("err"))).isEqualTo("0");
        } finally {
            bash.destroyForcibly();
            reader.interrupt();
            if (Files.exists(pid)) {
                ProcessHandle.of(Long.parseLong(Files.readString(pid).strip())).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /** An ICReq, and the ICResp read: the connection is one the target serves. */
    private static void icReq(Socket s) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(128).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, (byte) 0).put(2, (byte) 128).putInt(4, 128);
        s.getOutputStream().write(b.array());
        byte[] resp = s.getInputStream().readNBytes(128);
        assertThat(resp).hasSize(128);
        assertThat(resp[0]).as("ICResp").isEqualTo((byte) 1);
    }

    /** A fabrics Connect of an admin queue, answered with success: past the handshake timeout's reach. */
    private static void connectAdmin(Socket s, String subnqn) throws IOException {
        ByteBuffer p = ByteBuffer.allocate(72 + 1024).order(ByteOrder.LITTLE_ENDIAN);
        p.put(0, (byte) 4).put(2, (byte) 72).put(3, (byte) 72).putInt(4, 72 + 1024);
        p.put(8, (byte) 0x7F).put(9, (byte) 0x40).putShort(10, (short) 1).put(12, (byte) 0x01);
        p.putInt(8 + 32, 1024).put(8 + 39, (byte) 0x01);
        p.putShort(8 + 44, (short) 31);
        p.putShort(72 + 16, (short) 0xFFFF);
        byte[] sub = subnqn.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] hostnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-00000000cafe"
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        p.put(72 + 256, sub).put(72 + 512, hostnqn);
        s.getOutputStream().write(p.array());
        ByteBuffer r = ByteBuffer.wrap(s.getInputStream().readNBytes(24)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(r.get(0)).as("CapsuleResp").isEqualTo((byte) 5);
        assertThat((r.getShort(8 + 14) & 0xFFFF) >>> 1).as("Connect status").isZero();
    }

    private static boolean closedByPeer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        try {
            return in.read() < 0;
        } catch (SocketException e) {
            return true;
        }
    }
}
