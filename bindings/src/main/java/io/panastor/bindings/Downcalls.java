package io.panastor.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Shared lookup for the header classes of this package, as jextract's generated
 * {@code RuntimeHelper} is: it finds a libc symbol and links a downcall, nothing more.
 * Thread-safety: any thread (immutable after class initialisation).
 */
final class Downcalls {
    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup LIBC = LINKER.defaultLookup();
    /** Options of a call whose errno we read: the state segment becomes the first argument. */
    static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private Downcalls() {
    }

    static MethodHandle find(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        return LINKER.downcallHandle(
                LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name)),
                descriptor, options);
    }

    static AssertionError rethrow(Throwable t) {
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new AssertionError("downcall threw a checked exception", t);
    }
}
