package io.panastor.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code <sys/ioctl.h>} with the block-device requests of {@code <linux/fs.h>}. */
public final class sys_ioctl_h {
    private sys_ioctl_h() {
    }

    /** {@code _IOR(0x12, 114, size_t)}: device size in bytes, into a u64. */
    public static final long BLKGETSIZE64 = 0x80081272L;
    /** {@code _IO(0x12, 104)}: logical block size, into an int. */
    public static final long BLKSSZGET = 0x1268L;
    /** {@code _IO(0x12, 123)}: physical block size, into an unsigned int. */
    public static final long BLKPBSZGET = 0x127bL;

    private static final class ioctl {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS);
        static final MethodHandle HANDLE = Downcalls.find("ioctl", DESC,
                Downcalls.CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    }

    /** {@code int ioctl(int fd, unsigned long request, void *arg)} */
    public static int ioctl(MemorySegment errno, int fd, long request, MemorySegment arg) {
        try {
            return (int) ioctl.HANDLE.invokeExact(errno, fd, request, arg);
        } catch (Throwable t) {
            throw Downcalls.rethrow(t);
        }
    }
}
