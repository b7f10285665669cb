package io.panastor.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.error.EngineException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** Asserts how an engine operation failed. */
public final class Failures {
    private Failures() {
    }

    /** The {@link EngineException} {@code f} failed with, asserting that it did and with {@code reason}. */
    public static EngineException failure(CompletableFuture<?> f, EngineException.Reason reason) {
        Throwable t = null;
        try {
            f.join();
        } catch (CompletionException e) {
            t = e.getCause();
        }
        assertThat(t).as("failure of the operation").isInstanceOf(EngineException.class);
        EngineException e = (EngineException) t;
        assertThat(e.reason()).as("reason of: " + e.getMessage()).isEqualTo(reason);
        return e;
    }
}
