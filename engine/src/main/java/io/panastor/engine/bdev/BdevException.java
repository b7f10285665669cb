package io.panastor.engine.bdev;

/**
 * A control-path failure of the bdev layer, with a reason the management API maps to its
 * status codes and a message that says what to fix.
 */
public final class BdevException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why it failed. */
    public enum Reason {
        /** The URI, a parameter or an IO's shape is wrong. */
        INVALID_ARGUMENT,
        /** No bdev by that name, or no such file. */
        NOT_FOUND,
        /** A different bdev already has that name. */
        ALREADY_EXISTS,
        /** The device failed. */
        IO_ERROR,
        /** Not enough memory or descriptors. */
        RESOURCE_EXHAUSTED
    }

    private final Reason reason;

    public BdevException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public BdevException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
