package io.panastor.engine.bdev;

import io.panastor.engine.error.EngineException;

/**
 * A control-path failure of the bdev layer, with a reason the management API maps to its
 * status codes and a message that says what to fix.
 */
public final class BdevException extends EngineException {
    private static final long serialVersionUID = 1L;

    public BdevException(Reason reason, String message) {
        super(reason, message);
    }

    public BdevException(Reason reason, String message, Throwable cause) {
        super(reason, message, cause);
    }
}
