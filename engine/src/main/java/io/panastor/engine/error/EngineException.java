package io.panastor.engine.error;

import io.panastor.natives.Errno;
import io.panastor.natives.NativeException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A control-path failure of the engine: a {@link Reason} that a management API maps
 * one-to-one to its status codes (gRPC's, say), and a message that says what to fix. Every
 * control-path operation of the engine fails with one of these, thrown or as the cause of a
 * failed future; nothing on the data path throws it (IO completes with a status).
 */
public class EngineException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why it failed. */
    public enum Reason {
        /** A URI, a name, a parameter or an IO's shape is wrong: the request must change. */
        INVALID_ARGUMENT,
        /** What the request names does not exist. */
        NOT_FOUND,
        /** Something of that name or identity exists already. */
        ALREADY_EXISTS,
        /** It is in use (claimed, open, or being changed by another request). */
        BUSY,
        /** No room left: a device, a pool, a table of fixed size. */
        NO_SPACE,
        /** Not now: the engine is stopping, or a remote end does not answer. */
        UNAVAILABLE,
        /** Out of memory or descriptors. */
        RESOURCE_EXHAUSTED,
        /** The device failed. */
        IO_ERROR,
        /** A bug: the message says where. */
        INTERNAL
    }

    private final Reason reason;

    public EngineException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public EngineException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    /**
     * {@code t} as an engine failure: itself if it is one (unwrapped from a future's
     * {@link CompletionException} or {@link ExecutionException}); a system call's failure by
     * its errno; an {@link IllegalArgumentException} INVALID_ARGUMENT; anything else, a bug, INTERNAL.
     */
    public static EngineException of(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof EngineException e) {
            return e;
        }
        if (t instanceof NativeException n) {
            int e = n.errno();
            Reason r = e == Errno.EADDRINUSE || e == Errno.EEXIST ? Reason.ALREADY_EXISTS
                    : e == Errno.EADDRNOTAVAIL || e == Errno.EACCES || e == Errno.EINVAL ? Reason.INVALID_ARGUMENT
                    : e == Errno.ENOENT || e == Errno.ENODEV ? Reason.NOT_FOUND
                    : e == Errno.EBUSY ? Reason.BUSY
                    : e == Errno.ENOSPC ? Reason.NO_SPACE
                    : e == Errno.EMFILE || e == Errno.ENFILE || e == Errno.ENOMEM ? Reason.RESOURCE_EXHAUSTED
                    : Reason.IO_ERROR;
            return new EngineException(r, n.getMessage(), n);
        }
        if (t instanceof IllegalArgumentException) {
            // A value the caller gave that a library refused (an address that does not resolve, say).
            return new EngineException(Reason.INVALID_ARGUMENT, t.getMessage(), t);
        }
        return new EngineException(Reason.INTERNAL, "internal error: " + t, t);
    }

    @Override
    public String toString() {
        return reason + ": " + getMessage();
    }
}
