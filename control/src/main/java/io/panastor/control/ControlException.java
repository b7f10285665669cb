package io.panastor.control;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** A refused or failed control-plane operation: the gRPC code it answers with and a message saying what to fix. */
public final class ControlException extends RuntimeException {
    private final Status.Code code;

    public ControlException(Status.Code code, String message) {
        super(message);
        this.code = code;
    }

    public ControlException(Status.Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Status.Code code() {
        return code;
    }

    public StatusRuntimeException toStatus() {
        return Status.fromCode(code).withDescription(getMessage()).asRuntimeException();
    }

    static ControlException invalid(String m) {
        return new ControlException(Status.Code.INVALID_ARGUMENT, m);
    }

    static ControlException notFound(String m) {
        return new ControlException(Status.Code.NOT_FOUND, m);
    }

    static ControlException precondition(String m) {
        return new ControlException(Status.Code.FAILED_PRECONDITION, m);
    }

    static ControlException unavailable(String m) {
        return new ControlException(Status.Code.UNAVAILABLE, m);
    }

    /** The store failed: nothing is known to have changed. */
    static ControlException store(java.io.IOException e) {
        if (e instanceof io.panastor.control.store.Store.Conflict) {
            return new ControlException(Status.Code.ABORTED, "the control plane's store: " + e.getMessage(), e);
        }
        return new ControlException(Status.Code.INTERNAL, "the control plane's store failed: " + e.getMessage(), e);
    }
}
