package io.panastor.engine.nexus;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on 127.0.0.1 that forwards both ways until {@link #silence()}: from then on it
 * drops every byte either way and accepts new connections without answering, as a node that
 * went off the network does (no reset, no FIN: only silence).
 *
 * <p>Thread-safety: any thread; one virtual thread per direction per connection.
 */
final class SilentProxy implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean silent;
    private volatile boolean closed;

    SilentProxy(InetSocketAddress upstream) throws IOException {
        this.upstream = upstream;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("silent-proxy accept").start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    void silence() {
        silent = true;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                if (silent) {
                    Thread.ofVirtual().start(() -> pump(s, null));
                    continue;
                }
                Socket up = new Socket(upstream.getAddress(), upstream.getPort());
                sockets.add(up);
                Thread.ofVirtual().start(() -> pump(s, up));
                Thread.ofVirtual().start(() -> pump(up, s));
            } catch (IOException e) {
                if (!closed) {
                    continue;
                }
                return;
            }
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buf = new byte[64 * 1024];
        try (InputStream in = from.getInputStream()) {
            OutputStream out = to == null ? null : to.getOutputStream();
            for (int n; (n = in.read(buf)) > 0; ) {
                if (!silent && out != null) {
                    out.write(buf, 0, n);
                }
            }
        } catch (IOException e) {
            // the other side went; so does this direction
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
