package io.panastor.api.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.panastor.engine.error.EngineException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The Engine's typed failures as gRPC statuses, one-to-one, with the engine's message (which
 * says what to fix). A status raised by the service itself passes through unchanged.
 */
public final class GrpcErrors {
    private GrpcErrors() {
    }

    /** The status a client sees for {@code t}. */
    public static StatusRuntimeException toStatus(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof StatusRuntimeException s) {
            return s;
        }
        if (c instanceof IllegalArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(c.getMessage()).asRuntimeException();
        }
        EngineException e = EngineException.of(c);
        return code(e.reason()).withDescription(e.getMessage()).asRuntimeException();
    }

    /** The gRPC code for an engine failure's reason. */
    public static Status code(EngineException.Reason reason) {
        return switch (reason) {
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
            case NOT_FOUND -> Status.NOT_FOUND;
            case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
            // In use: the request is right but the object's state does not allow it now.
            case BUSY -> Status.FAILED_PRECONDITION;
            case NO_SPACE, RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
            case IO_ERROR, INTERNAL -> Status.INTERNAL;
        };
    }

    public static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }

    public static StatusRuntimeException notFound(String message) {
        return Status.NOT_FOUND.withDescription(message).asRuntimeException();
    }
}
