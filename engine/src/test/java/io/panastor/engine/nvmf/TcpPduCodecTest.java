package io.panastor.engine.nvmf;

import static org.assertj.core.api.Assertions.assertThat;

import io.panastor.engine.nvmf.proto.NvmeCommand;
import io.panastor.engine.nvmf.proto.NvmeCompletion;
import io.panastor.engine.nvmf.proto.NvmeStatus;
import io.panastor.engine.nvmf.proto.TcpPdu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class TcpPduCodecTest {

    @Property(tries = 300)
    void commonHeaderRoundTrips(@ForAll @IntRange(min = 0, max = 255) int type,
                                @ForAll @IntRange(min = 0, max = 255) int flags,
                                @ForAll @IntRange(min = 0, max = 255) int hlen,
                                @ForAll @IntRange(min = 0, max = 255) int pdo,
                                @ForAll @LongRange(min = 0, max = 0xFFFFFFFFL) long plen,
                                @ForAll @IntRange(min = 0, max = 100) int base) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(128);
            TcpPdu.header(s, base, type, flags, hlen, pdo, plen);
            assertThat(TcpPdu.type(s, base)).isEqualTo(type);
            assertThat(TcpPdu.flags(s, base)).isEqualTo(flags);
            assertThat(TcpPdu.hlen(s, base)).isEqualTo(hlen);
            assertThat(TcpPdu.pdo(s, base)).isEqualTo(pdo);
            assertThat(TcpPdu.plen(s, base)).isEqualTo(plen);
            // Little-endian on the wire (§3.6.1).
            assertThat(Byte.toUnsignedInt(s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, base + 4)))
                    .isEqualTo((int) (plen & 0xFF));
        }
    }

    @Property(tries = 300)
    void completionRoundTrips(@ForAll int dw0, @ForAll int dw1,
                              @ForAll @IntRange(min = 0, max = 0xFFFF) int sqhd,
                              @ForAll @IntRange(min = 0, max = 0xFFFF) int cid,
                              @ForAll @IntRange(min = 0, max = 7) int sct,
                              @ForAll @IntRange(min = 0, max = 255) int sc) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(NvmeCompletion.SIZE);
            int status = NvmeStatus.of(sct, sc);
            NvmeCompletion.write(s, 0, dw0, dw1, sqhd, 1, cid, status);
            assertThat(NvmeCompletion.cid(s, 0)).isEqualTo(cid);
            assertThat(NvmeCompletion.status(s, 0)).isEqualTo(status);
            assertThat(NvmeStatus.sct(NvmeCompletion.status(s, 0))).isEqualTo(sct);
            assertThat(NvmeStatus.sc(NvmeCompletion.status(s, 0))).isEqualTo(sc);
            assertThat(NvmeCompletion.dw0(s, 0)).isEqualTo(Integer.toUnsignedLong(dw0));
            assertThat(s.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 14) & 1).as("phase bit").isZero();
        }
    }

    @Test
    void layoutsHaveTheSpecifiedSizes() {
        assertThat(NvmeCommand.SIZE).isEqualTo(64);
        assertThat(NvmeCompletion.SIZE).isEqualTo(16);
        assertThat(TcpPdu.CAPSULE_CMD_HLEN).isEqualTo(TcpPdu.COMMON_HEADER_LENGTH + NvmeCommand.SIZE);
        assertThat(TcpPdu.CAPSULE_RESP_HLEN).isEqualTo(TcpPdu.COMMON_HEADER_LENGTH + NvmeCompletion.SIZE);
        assertThat(NvmeCommand.SGL_ID_OFFSET).isEqualTo(39);
        assertThat(NvmeCommand.CDW10_OFFSET).isEqualTo(40);
        assertThat(TcpPdu.expectedHlen(TcpPdu.ICREQ)).isEqualTo(128);
        assertThat(TcpPdu.expectedHlen(0x08)).as("type 08h is reserved").isEqualTo(-1);
        assertThat(NvmeStatus.CONNECT_INVALID_HOST).isEqualTo((1 << 14) | (1 << 8) | 0x84);
    }
}
