package io.panastor.engine.nvmf.proto;

/**
 * The controller properties a fabrics host reads and writes with {@link PropertyCommand}
 * (NVMe base 2.0 §3.1.4; fabrics 1.1 §3.4.1), their offsets and bit fields.
 * <pre>
 * 0x00 CAP u64:  15:0 MQES (0's based) | 16 CQR | 18:17 AMS | 31:24 TO (500 ms units)
 *                35:32 DSTRD | 36 NSSRS | 44:37 CSS (bit 37: NVM command set) | 51:48 MPSMIN | 55:52 MPSMAX
 * 0x08 VS u32:   31:16 MJR | 15:8 MNR | 7:0 TER
 * 0x14 CC u32:   0 EN | 6:4 CSS | 10:7 MPS | 13:11 AMS | 15:14 SHN | 19:16 IOSQES | 23:20 IOCQES
 * 0x1C CSTS u32: 0 RDY | 1 CFS | 3:2 SHST | 4 NSSRO | 5 PP
 * 0x20 NSSR u32
 * </pre>
 */
public final class ControllerRegisters {
    private ControllerRegisters() {
    }

    public static final int CAP = 0x00;
    public static final int VS = 0x08;
    public static final int CC = 0x14;
    public static final int CSTS = 0x1C;
    public static final int NSSR = 0x20;

    // CAP
    public static final long CAP_CQR = 1L << 16;
    public static final int CAP_TO_SHIFT = 24;
    /** CAP.TO's unit: the worst-case time to CSTS.RDY after CC.EN changes is TO x 500 ms. */
    public static final long CAP_TO_UNIT_MILLIS = 500;
    public static final long CAP_CSS_NVM = 1L << 37;

    /** CAP.MQES + 1: the most entries an IO queue may have. */
    public static int maxQueueEntries(long cap) {
        return (int) (cap & 0xFFFF) + 1;
    }

    /** CAP.TO in milliseconds: how long the host waits for CSTS.RDY to follow CC.EN. */
    public static long readyTimeoutMillis(long cap) {
        return ((cap >>> CAP_TO_SHIFT) & 0xFF) * CAP_TO_UNIT_MILLIS;
    }

    /** A CAP value: {@code entries} per queue (MQES + 1), contiguous queues, TO in ms, NVM command set, 4 KiB pages. */
    public static long cap(int entries, long readyTimeoutMillis) {
        long to = Math.min(0xFF, (readyTimeoutMillis + CAP_TO_UNIT_MILLIS - 1) / CAP_TO_UNIT_MILLIS);
        return (entries - 1) | CAP_CQR | (to << CAP_TO_SHIFT) | CAP_CSS_NVM;
    }

    // VS
    public static int version(int major, int minor, int tertiary) {
        return (major << 16) | (minor << 8) | tertiary;
    }

    // CC
    public static final int CC_EN = 0x1;
    public static final int CC_SHN_SHIFT = 14;
    public static final int CC_SHN_MASK = 0x3 << CC_SHN_SHIFT;
    public static final int CC_SHN_NORMAL = 0x1;
    public static final int CC_SHN_ABRUPT = 0x2;
    public static final int CC_IOSQES_SHIFT = 16;
    public static final int CC_IOCQES_SHIFT = 20;
    /** CC as a host enables the controller: EN, NVM command set, 4 KiB pages, 64-byte SQEs and 16-byte CQEs. */
    public static final int CC_ENABLE = CC_EN | (6 << CC_IOSQES_SHIFT) | (4 << CC_IOCQES_SHIFT);

    public static boolean enabled(int cc) {
        return (cc & CC_EN) != 0;
    }

    /** CC.SHN: 0 none, {@link #CC_SHN_NORMAL}, {@link #CC_SHN_ABRUPT}. */
    public static int shutdownNotification(int cc) {
        return (cc >>> CC_SHN_SHIFT) & 0x3;
    }

    // CSTS
    public static final int CSTS_RDY = 0x1;
    public static final int CSTS_CFS = 0x2;
    public static final int CSTS_SHST_SHIFT = 2;
    public static final int CSTS_SHST_MASK = 0x3 << CSTS_SHST_SHIFT;
    public static final int CSTS_SHST_OCCURRING = 0x1;
    public static final int CSTS_SHST_COMPLETE = 0x2;

    public static boolean ready(int csts) {
        return (csts & CSTS_RDY) != 0;
    }

    public static boolean fatal(int csts) {
        return (csts & CSTS_CFS) != 0;
    }

    /** CSTS.SHST: 0 normal operation, {@link #CSTS_SHST_OCCURRING}, {@link #CSTS_SHST_COMPLETE}. */
    public static int shutdownStatus(int csts) {
        return (csts >>> CSTS_SHST_SHIFT) & 0x3;
    }

    /** {@code csts} with SHST set to {@code shst}. */
    public static int withShutdownStatus(int csts, int shst) {
        return (csts & ~CSTS_SHST_MASK) | (shst << CSTS_SHST_SHIFT);
    }
}
