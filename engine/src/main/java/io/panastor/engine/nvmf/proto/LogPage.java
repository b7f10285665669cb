package io.panastor.engine.nvmf.proto;

import java.lang.foreign.MemorySegment;

/**
 * Get Log Page (NVMe base 2.0 §5.16): the command's fields and the layouts of the pages we
 * serve. The offset and the length together may name any byte range of a page; a range
 * that starts past the page's end is invalid.
 * <pre>
 * command:  40 CDW10: 7:0 LID, 14:8 LSP, 15 RAE, 31:16 NUMDL | 44 CDW11: 15:0 NUMDU, 31:16 LSI
 *           48 CDW12 LPOL | 52 CDW13 LPOU (offset in bytes, dword aligned) | 56 CDW14: 6:0 UUID, 31:24 CSI
 *           NUMD = NUMDU:NUMDL, 0's based dwords
 * error information entry (LID 01h, 64 bytes): 0 ERROR COUNT u64 | 8 SQID u16 | 10 CID u16
 *           12 STATUS u16 | 14 PARAMETER ERROR LOCATION u16 | 16 LBA u64 | 24 NSID u32
 * SMART / health (LID 02h, 512 bytes): 0 critical warning u8 | 1 composite temperature u16 (K)
 *           3 available spare u8 | 4 spare threshold u8 | 5 percentage used u8
 *           32 data units read (16) | 48 data units written (16) | 64 host read commands (16)
 *           80 host write commands (16) | 96 controller busy time (16) | 112 power cycles (16)
 *           128 power-on hours (16) | 144 unsafe shutdowns (16) | 160 media errors (16)
 *           (data units: thousands of 512-byte units, rounded up)
 * firmware slot (LID 03h, 512 bytes): 0 AFI u8 | 8 FRS1 (8) .. 56 FRS7
 * changed namespace list (LID 04h, 4096 bytes): up to 1024 NSIDs u32; FFFFFFFFh first = more than 1024
 * </pre>
 */
public final class LogPage {
    private LogPage() {
    }

    public static final int LID_ERROR = 0x01;
    public static final int LID_SMART = 0x02;
    public static final int LID_FIRMWARE_SLOT = 0x03;
    public static final int LID_CHANGED_NAMESPACES = 0x04;
    public static final int LID_DISCOVERY = 0x70;

    public static final int ERROR_ENTRY_SIZE = 64;
    public static final int SMART_SIZE = 512;
    public static final int FIRMWARE_SLOT_SIZE = 512;
    public static final int CHANGED_NAMESPACES_SIZE = 4096;

    public static final long SMART_TEMPERATURE_OFFSET = 1;
    public static final long SMART_AVAILABLE_SPARE_OFFSET = 3;
    public static final long SMART_SPARE_THRESHOLD_OFFSET = 4;
    public static final long SMART_DATA_UNITS_READ_OFFSET = 32;
    public static final long SMART_DATA_UNITS_WRITTEN_OFFSET = 48;
    public static final long SMART_HOST_READS_OFFSET = 64;
    public static final long SMART_HOST_WRITES_OFFSET = 80;
    public static final long SMART_POWER_CYCLES_OFFSET = 112;
    public static final long FIRMWARE_AFI_OFFSET = 0;
    public static final long FIRMWARE_SLOT1_OFFSET = 8;
    /** The changed namespace list's first entry when more than 1024 changed. */
    public static final long CHANGED_NAMESPACES_OVERFLOW = 0xFFFFFFFFL;
    public static final int CHANGED_NAMESPACES_MAX = 1024;

    public static int lid(MemorySegment s, long sqe) {
        return NvmeCommand.cdw(s, sqe, 10) & 0xFF;
    }

    /** RAE: retain the asynchronous event (do not clear what the page reports). */
    public static boolean retainAsyncEvent(MemorySegment s, long sqe) {
        return (NvmeCommand.cdw(s, sqe, 10) & 0x8000) != 0;
    }

    /** The bytes asked for: (NUMDU:NUMDL + 1) x 4, 4 B .. 16 GiB. */
    public static long length(MemorySegment s, long sqe) {
        long numd = ((long) (NvmeCommand.cdw(s, sqe, 11) & 0xFFFF) << 16) | (NvmeCommand.cdw(s, sqe, 10) >>> 16);
        return (numd + 1) * 4;
    }

    /** The byte offset into the page (LPOU:LPOL), unsigned: compare with {@link Long#compareUnsigned}. */
    public static long offset(MemorySegment s, long sqe) {
        return Integer.toUnsignedLong(NvmeCommand.cdw(s, sqe, 12)) | ((long) NvmeCommand.cdw(s, sqe, 13) << 32);
    }

    /**
     * Whether {@code [offset, offset + length)} is a valid range of a page of {@code pageSize}
     * bytes: dword aligned and starting within it (reading past its end returns zeroes;
     * starting past it is invalid). Safe for any 64-bit offset.
     */
    public static boolean validRange(long offset, long length, long pageSize) {
        return (offset & 3) == 0 && Long.compareUnsigned(offset, pageSize) <= 0 && length > 0;
    }

    /** A whole Get Log Page SQE for {@code length} bytes of page {@code lid} from {@code offset}. */
    public static void write(MemorySegment s, long sqe, int cid, int lid, long nsid, long offset, long length) {
        NvmeCommand.begin(s, sqe, NvmeOpcodes.ADMIN_GET_LOG_PAGE, cid);
        NvmeCommand.nsid(s, sqe, nsid);
        NvmeCommand.sgl(s, sqe, NvmeCommand.SGL_TRANSPORT, 0, length);
        long numd = length / 4 - 1;
        NvmeCommand.cdw(s, sqe, 10, lid | (int) ((numd & 0xFFFF) << 16));
        NvmeCommand.cdw(s, sqe, 11, (int) (numd >>> 16) & 0xFFFF);
        NvmeCommand.cdw(s, sqe, 12, (int) offset);
        NvmeCommand.cdw(s, sqe, 13, (int) (offset >>> 32));
    }

    /** SMART data units for {@code bytes}: thousands of 512-byte units, rounded up (§5.16.1.3). */
    public static long dataUnits(long bytes) {
        return (bytes / 512 + 999) / 1000;
    }
}
