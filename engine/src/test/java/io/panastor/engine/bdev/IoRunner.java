package io.panastor.engine.bdev;

import io.panastor.reactor.Reactor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Test driver: runs IO on a reactor, one at a time or many at a queue depth, and reports how each ended. */
public final class IoRunner {
    private IoRunner() {
    }

    /** Fills a descriptor for one IO. */
    @FunctionalInterface
    public interface Op {
        BdevIo prepare(BdevIo io, IoCompletion done);
    }

    public record Result(int status, int errno) {
        public boolean ok() {
            return status == IoStatus.SUCCESS;
        }

        @Override
        public String toString() {
            return IoStatus.name(status) + (errno != 0 ? "/errno " + errno : "");
        }
    }

    public static Result one(Reactor r, Bdev b, Op op) {
        return many(r, b, List.of(op), 1).join().getFirst();
    }

    /** Runs {@code ops} in order with up to {@code depth} in flight; results in op order. */
    public static CompletableFuture<List<Result>> many(Reactor r, Bdev b, List<Op> ops, int depth) {
        CompletableFuture<List<Result>> done = new CompletableFuture<>();
        r.execute(() -> {
            try {
                new Driver(b.channel(r), ops, depth, done).start();
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        return done;
    }

    private static final class Driver implements IoCompletion {
        private final IoChannel channel;
        private final List<Op> ops;
        private final Result[] results;
        private final CompletableFuture<List<Result>> done;
        private final int depth;
        private int next;
        private int finished;

        Driver(IoChannel channel, List<Op> ops, int depth, CompletableFuture<List<Result>> done) {
            this.channel = channel;
            this.ops = ops;
            this.results = new Result[ops.size()];
            this.depth = depth;
            this.done = done;
        }

        void start() {
            if (ops.isEmpty()) {
                done.complete(List.of());
                return;
            }
            for (int i = 0; i < depth && next < ops.size(); i++) {
                submitNext();
            }
        }

        private void submitNext() {
            int i = next++;
            BdevIo io = channel.allocIo();
            io.tag = i;
            channel.submit(ops.get(i).prepare(io, this));
        }

        @Override
        public void onIoComplete(BdevIo io) {
            results[(int) io.tag] = new Result(io.status(), io.errno());
            io.release();
            finished++;
            if (next < ops.size()) {
                submitNext();
            } else if (finished == ops.size()) {
                done.complete(new ArrayList<>(List.of(results)));
            }
        }
    }
}
