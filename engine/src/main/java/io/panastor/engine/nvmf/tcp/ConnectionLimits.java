package io.panastor.engine.nvmf.tcp;

/**
 * Buffer sizes of a {@link TcpConnection} and the data limits its end sets.
 *
 * @param recvInitial      receive buffer to start with
 * @param recvMax          the most it grows to, when receives fill it or a PDU needs it
 * @param recvLargestPdu   the longest PDU delivered whole; the buffer keeps room for one
 * @param sendBytes        each of the two send sides; the largest PDU built in it must fit
 * @param sendIovs         iovecs per send side ({@link SendBuffers})
 * @param maxH2CData       (controller) MAXH2CDATA granted in the ICResp; longer H2CData is refused
 * @param maxInCapsuleData (controller) the most in-capsule data a CapsuleCmd may carry
 */
public record ConnectionLimits(int recvInitial, int recvMax, int recvLargestPdu, int sendBytes, int sendIovs,
                     int maxH2CData, int maxInCapsuleData) {
    public ConnectionLimits {
        if (recvInitial > recvMax || recvLargestPdu > recvMax || maxH2CData < 0 || maxInCapsuleData < 0) {
            throw new IllegalArgumentException(toStringOf(recvInitial, recvMax, recvLargestPdu, maxH2CData));
        }
    }

    private static String toStringOf(int initial, int max, int largest, int maxH2C) {
        return "receive buffer " + initial + " to " + max + " bytes for PDUs of " + largest + ", MAXH2CDATA "
                + maxH2C;
    }

    /** A host's queue: a fixed receive buffer (headers only are held in it). */
    public static ConnectionLimits host(int recvBytes, int sendBytes, int sendIovs) {
        return new ConnectionLimits(recvBytes, recvBytes, recvBytes / 2, sendBytes, sendIovs, 0, 0);
    }
}
