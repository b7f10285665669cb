package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * {@code struct sockaddr_in} (16 bytes).
 * <pre>
 *  0 sin_family u16 (host order) | 2 sin_port u16 (network order) | 4 sin_addr u32 (network order) | 8 sin_zero[8]
 * </pre>
 */
public final class sockaddr_in {
    private sockaddr_in() {
    }

    private static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sin_family"),
            JAVA_SHORT.withName("sin_port"),
            JAVA_INT.withName("sin_addr"),
            MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("sin_zero")).withName("sockaddr_in");

    public static StructLayout layout() {
        return LAYOUT;
    }

    public static final int SIZE = 16;
    public static final long sin_family_OFFSET = 0;
    public static final long sin_port_OFFSET = 2;
    public static final long sin_addr_OFFSET = 4;
}
