package io.panastor.api.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;

/**
 * How a client command reports a failed call, for the engine's commands and the control
 * plane's alike: a status the transport made (no one answered, or not in time) is one line
 * saying so and exit 3; one the server sent is one line with its code and message and exit 1.
 */
public final class CallFailures {
    public static final int REFUSED = 1;
    public static final int UNREACHABLE = 3;

    private CallFailures() {
    }

    /**
     * Prints the failure of {@code command}'s call to {@code server} (e.g. "an engine at
     * 127.0.0.1:10124") on {@code err}; the exit code.
     *
     * @param hint what to check when no one answered (e.g. "is `panastor engine` running there?")
     */
    public static int report(StatusRuntimeException e, PrintWriter err, String command, String server, String hint,
                             long timeoutSeconds) {
        Status s = e.getStatus();
        // A status the transport made (it has a cause) means no one answered; one the server sent
        // has none and carries the server's own message.
        boolean transport = s.getCause() != null || s.getCode() == Status.Code.DEADLINE_EXCEEDED;
        if (transport && (s.getCode() == Status.Code.UNAVAILABLE || s.getCode() == Status.Code.DEADLINE_EXCEEDED)) {
            err.println(command + ": no answer from " + server
                    + (s.getCode() == Status.Code.DEADLINE_EXCEEDED ? " within " + timeoutSeconds + " s"
                    : " (" + rootMessage(s.getCause()) + "): " + hint));
            err.flush();
            return UNREACHABLE;
        }
        err.println(command + ": " + s.getCode() + ": " + (s.getDescription() == null ? "(no message)" : s.getDescription()));
        err.flush();
        return REFUSED;
    }

    private static String rootMessage(Throwable t) {
        if (t == null) {
            return "unreachable";
        }
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
