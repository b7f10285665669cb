package io.panastor.bindings;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemoryLayout.PathElement;
import org.junit.jupiter.api.Test;

/** Pins every kernel/libc layout to the size and field offsets of the C headers. */
class LayoutSizeTest {

    @Test
    void ioUringStructsHaveKernelSizes() {
        assertThat(io_uring_sqe.layout().byteSize()).isEqualTo(64).isEqualTo(io_uring_sqe.SIZE);
        assertThat(io_uring_cqe.layout().byteSize()).isEqualTo(16).isEqualTo(io_uring_cqe.SIZE);
        assertThat(io_sqring_offsets.layout().byteSize()).isEqualTo(40);
        assertThat(io_cqring_offsets.layout().byteSize()).isEqualTo(40);
        assertThat(io_uring_params.layout().byteSize()).isEqualTo(120);
        assertThat(io_uring_getevents_arg.layout().byteSize()).isEqualTo(24);
        assertThat(io_uring_getevents_arg.KERNEL_TIMESPEC.byteSize()).isEqualTo(16);
        assertThat(iovec.layout().byteSize()).isEqualTo(16);
        assertThat(msghdr.layout().byteSize()).isEqualTo(56).isEqualTo(msghdr.SIZE);
        assertThat(msghdr.layout().byteOffset(PathElement.groupElement("msg_iov"))).isEqualTo(msghdr.msg_iov_OFFSET);
        assertThat(msghdr.layout().byteOffset(PathElement.groupElement("msg_iovlen"))).isEqualTo(msghdr.msg_iovlen_OFFSET);
    }

    @Test
    void sqeOffsetConstantsMatchTheLayout() {
        var l = io_uring_sqe.layout();
        assertThat(l.byteOffset(PathElement.groupElement("fd"))).isEqualTo(io_uring_sqe.fd_OFFSET);
        assertThat(l.byteOffset(PathElement.groupElement("off"))).isEqualTo(io_uring_sqe.off_OFFSET);
        assertThat(l.byteOffset(PathElement.groupElement("addr"))).isEqualTo(io_uring_sqe.addr_OFFSET);
        assertThat(l.byteOffset(PathElement.groupElement("len"))).isEqualTo(io_uring_sqe.len_OFFSET);
        assertThat(l.byteOffset(PathElement.groupElement("rw_flags"))).isEqualTo(io_uring_sqe.rw_flags_OFFSET);
        assertThat(l.byteOffset(PathElement.groupElement("user_data"))).isEqualTo(io_uring_sqe.user_data_OFFSET);
        assertThat(l.byteOffset(PathElement.groupElement("buf_index"))).isEqualTo(io_uring_sqe.buf_index_OFFSET);
        assertThat(l.byteOffset(PathElement.groupElement("addr3"))).isEqualTo(io_uring_sqe.addr3_OFFSET);
        assertThat(io_uring_params.layout().byteOffset(PathElement.groupElement("sq_off")))
                .isEqualTo(io_uring_params.sq_off_OFFSET);
        assertThat(io_uring_params.layout().byteOffset(PathElement.groupElement("cq_off")))
                .isEqualTo(io_uring_params.cq_off_OFFSET);
        assertThat(io_uring_cqe.layout().byteOffset(PathElement.groupElement("res"))).isEqualTo(io_uring_cqe.res_OFFSET);
    }

    @Test
    void glibcStatMatchesX8664() {
        assertThat(stat.layout().byteSize()).isEqualTo(144);
        assertThat(stat.layout().byteOffset(PathElement.groupElement("st_mode"))).isEqualTo(stat.st_mode_OFFSET);
        assertThat(stat.layout().byteOffset(PathElement.groupElement("st_size"))).isEqualTo(stat.st_size_OFFSET);
        assertThat(stat.layout().byteOffset(PathElement.groupElement("st_blksize"))).isEqualTo(stat.st_blksize_OFFSET);
        assertThat(stat.layout().byteOffset(PathElement.groupElement("st_blocks"))).isEqualTo(stat.st_blocks_OFFSET);
        assertThat(sched_h.CPU_SET_T.byteSize()).isEqualTo(128);
    }
}
