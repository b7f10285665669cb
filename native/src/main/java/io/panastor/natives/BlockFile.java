package io.panastor.natives;

import io.panastor.bindings.fcntl_h;
import io.panastor.bindings.stat;
import io.panastor.bindings.sys_ioctl_h;
import io.panastor.bindings.sys_stat_h;
import io.panastor.bindings.unistd_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * An open regular file or block device, normally with {@code O_DIRECT}: its fd, size and
 * logical block size (the alignment O_DIRECT IO needs). Synchronous pread/pwrite/fsync/
 * fallocate here are for the control path and tests; the data path submits through an
 * {@link IoUring} using {@link #fd()}.
 *
 * Thread-safety: any thread (the fd is immutable until {@link #close()}).
 */
public final class BlockFile implements AutoCloseable {
    /** Block size assumed for a regular file: the smallest any Linux device uses for O_DIRECT. */
    public static final int DEFAULT_FILE_BLOCK_SIZE = 512;

    private final Path path;
    private final int fd;
    private final boolean blockDevice;
    private final long size;
    private final int logicalBlockSize;
    private volatile boolean closed;

    private BlockFile(Path path, int fd, boolean blockDevice, long size, int logicalBlockSize) {
        this.path = path;
        this.fd = fd;
        this.blockDevice = blockDevice;
        this.size = size;
        this.logicalBlockSize = logicalBlockSize;
    }

    /** Opens an existing file or block device for reading and writing with O_DIRECT. */
    public static BlockFile open(Path path) {
        return open(path, fcntl_h.O_RDWR | fcntl_h.O_DIRECT);
    }

    /**
     * Opens with explicit {@code open(2)} flags ({@code O_CLOEXEC} is always added).
     * A directory or anything that is neither a regular file nor a block device is refused.
     */
    public static BlockFile open(Path path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            int fd = fcntl_h.open(cs, a.allocateFrom(path.toString()), flags | fcntl_h.O_CLOEXEC, 0644);
            if (fd < 0) {
                throw Errno.failure("open(" + path + ")", cs);
            }
            boolean ok = false;
            try {
                MemorySegment st = a.allocate(stat.layout());
                if (sys_stat_h.fstat(cs, fd, st) < 0) {
                    throw Errno.failure("fstat(" + path + ")", cs);
                }
                int type = stat.st_mode(st) & stat.S_IFMT;
                BlockFile f;
                if (type == stat.S_IFBLK) {
                    MemorySegment u64 = a.allocate(ValueLayout.JAVA_LONG);
                    if (sys_ioctl_h.ioctl(cs, fd, sys_ioctl_h.BLKGETSIZE64, u64) < 0) {
                        throw Errno.failure("ioctl(" + path + ", BLKGETSIZE64)", cs);
                    }
                    MemorySegment i32 = a.allocate(ValueLayout.JAVA_INT);
                    if (sys_ioctl_h.ioctl(cs, fd, sys_ioctl_h.BLKSSZGET, i32) < 0) {
                        throw Errno.failure("ioctl(" + path + ", BLKSSZGET)", cs);
                    }
                    f = new BlockFile(path, fd, true, u64.get(ValueLayout.JAVA_LONG, 0), i32.get(ValueLayout.JAVA_INT, 0));
                } else if (type == stat.S_IFREG) {
                    f = new BlockFile(path, fd, false, stat.st_size(st), DEFAULT_FILE_BLOCK_SIZE);
                } else {
                    throw new NativeException("open(" + path + "): not a regular file or block device",
                            type == stat.S_IFDIR ? io.panastor.bindings.errno_h.EISDIR
                                    : io.panastor.bindings.errno_h.ENODEV);
                }
                ok = true;
                return f;
            } finally {
                if (!ok) {
                    unistd_h.close(cs, fd);
                }
            }
        }
    }

    /**
     * Creates (or truncates to) a regular file of {@code size} bytes, allocated on disk with
     * fallocate(2) so that later writes do not allocate. Control path.
     */
    public static void createFile(Path path, long size) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            int fd = fcntl_h.open(cs, a.allocateFrom(path.toString()),
                    fcntl_h.O_RDWR | fcntl_h.O_CREAT | fcntl_h.O_TRUNC | fcntl_h.O_CLOEXEC, 0644);
            if (fd < 0) {
                throw Errno.failure("open(" + path + ", O_CREAT)", cs);
            }
            try {
                if (size > 0 && fcntl_h.fallocate(cs, fd, 0, 0, size) < 0) {
                    throw Errno.failure("fallocate(" + path + ", " + size + ")", cs);
                }
            } finally {
                unistd_h.close(cs, fd);
            }
        }
    }

    /**
     * Bytes of {@code path} allocated on disk ({@code st_blocks}, 512-byte units): less than
     * its size for a sparse file, whose holes read as zeros without touching the device.
     * Control path.
     */
    public static long allocatedBytes(Path path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            int fd = fcntl_h.open(cs, a.allocateFrom(path.toString()), fcntl_h.O_RDONLY | fcntl_h.O_CLOEXEC, 0);
            if (fd < 0) {
                throw Errno.failure("open(" + path + ")", cs);
            }
            try {
                MemorySegment st = a.allocate(stat.layout());
                if (sys_stat_h.fstat(cs, fd, st) < 0) {
                    throw Errno.failure("fstat(" + path + ")", cs);
                }
                return stat.st_blocks(st) * 512;
            } finally {
                unistd_h.close(cs, fd);
            }
        }
    }

    public Path path() {
        return path;
    }

    public int fd() {
        return fd;
    }

    public boolean isBlockDevice() {
        return blockDevice;
    }

    public long size() {
        return size;
    }

    /** The size now ({@link #size()} is the size at open): fstat, or BLKGETSIZE64 for a device. Control path. */
    public long currentSize() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            if (blockDevice) {
                MemorySegment u64 = a.allocate(ValueLayout.JAVA_LONG);
                if (sys_ioctl_h.ioctl(cs, fd, sys_ioctl_h.BLKGETSIZE64, u64) < 0) {
                    throw Errno.failure("ioctl(" + path + ", BLKGETSIZE64)", cs);
                }
                return u64.get(ValueLayout.JAVA_LONG, 0);
            }
            MemorySegment st = a.allocate(stat.layout());
            if (sys_stat_h.fstat(cs, fd, st) < 0) {
                throw Errno.failure("fstat(" + path + ")", cs);
            }
            return stat.st_size(st);
        }
    }

    public int logicalBlockSize() {
        return logicalBlockSize;
    }

    /** Reads {@code buf.byteSize()} bytes at {@code offset}; a short read is an error. */
    public void pread(MemorySegment buf, long offset) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            long n = unistd_h.pread(cs, fd, buf, buf.byteSize(), offset);
            if (n < 0) {
                throw Errno.failure("pread(" + path + ", " + buf.byteSize() + " @ " + offset + ")", cs);
            }
            if (n != buf.byteSize()) {
                throw new NativeException("pread(" + path + ", " + buf.byteSize() + " @ " + offset
                        + "): short read of " + n + " bytes", io.panastor.bindings.errno_h.EIO);
            }
        }
    }

    /** Writes all of {@code buf} at {@code offset}; a short write is an error. */
    public void pwrite(MemorySegment buf, long offset) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            long n = unistd_h.pwrite(cs, fd, buf, buf.byteSize(), offset);
            if (n < 0) {
                throw Errno.failure("pwrite(" + path + ", " + buf.byteSize() + " @ " + offset + ")", cs);
            }
            if (n != buf.byteSize()) {
                throw new NativeException("pwrite(" + path + ", " + buf.byteSize() + " @ " + offset
                        + "): short write of " + n + " bytes", io.panastor.bindings.errno_h.EIO);
            }
        }
    }

    public void fsync() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            if (unistd_h.fsync(cs, fd) < 0) {
                throw Errno.failure("fsync(" + path + ")", cs);
            }
        }
    }

    public void fdatasync() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            if (unistd_h.fdatasync(cs, fd) < 0) {
                throw Errno.failure("fdatasync(" + path + ")", cs);
            }
        }
    }

    /** fallocate(2) with {@code FALLOC_FL_*} {@code mode}. */
    public void fallocate(int mode, long offset, long length) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            if (fcntl_h.fallocate(cs, fd, mode, offset, length) < 0) {
                throw Errno.failure("fallocate(" + path + ", mode=" + mode + ", " + length + " @ " + offset + ")", cs);
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = Errno.newCallState(a);
            if (unistd_h.close(cs, fd) < 0) {
                throw Errno.failure("close(" + path + ")", cs);
            }
        }
    }

    @Override
    public String toString() {
        return path + (blockDevice ? " (block device, " : " (file, ") + size + " bytes, " + logicalBlockSize + " B blocks)";
    }
}
