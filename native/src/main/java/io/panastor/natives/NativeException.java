package io.panastor.natives;

/**
 * A system call failed. Carries the call, the errno and its symbolic name, so that a
 * message reads like {@code open(/dev/nope): ENOENT (No such file or directory)}.
 * Control path only: the data path completes IO with status codes, never by throwing.
 */
public final class NativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    public NativeException(String operation, int errno) {
        super(operation + ": " + Errno.name(errno) + " (" + Errno.describe(errno) + ")");
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    public String errnoName() {
        return Errno.name(errno);
    }
}
