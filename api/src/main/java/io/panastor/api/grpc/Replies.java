package io.panastor.api.grpc;

import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Answers a unary call from the Engine's futures: the value as the one response, a failure as
 * its status ({@link GrpcErrors}). gRPC threads never wait on a reactor.
 */
final class Replies {
    /** Where replies to futures are built and sent: never a reactor. */
    private static final java.util.concurrent.Executor REPLIES = Thread.ofVirtual().name("grpc-reply")::start;

    private Replies() {
    }

    /** Runs {@code call} (which may also throw) and answers with its result mapped by {@code map}. */
    static <T, R> void reply(StreamObserver<R> out, Supplier<? extends CompletionStage<T>> call,
                             Function<? super T, ? extends R> map) {
        CompletionStage<T> stage;
        try {
            stage = call.get();
        } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
            return;
        }
        // Engine futures complete on a reactor: the reply is built and written elsewhere.
        stage.whenCompleteAsync((value, failure) -> {
            if (failure != null) {
                out.onError(GrpcErrors.toStatus(failure));
                return;
            }
            R response;
            try {
                response = map.apply(value);
            } catch (RuntimeException e) {
                out.onError(GrpcErrors.toStatus(e));
                return;
            }
            out.onNext(response);
            out.onCompleted();
        }, REPLIES);
    }

    /** Answers with a value computed now, on the calling thread. */
    static <R> void now(StreamObserver<R> out, Supplier<? extends R> value) {
        reply(out, () -> CompletableFuture.completedFuture(null), v -> value.get());
    }
}
