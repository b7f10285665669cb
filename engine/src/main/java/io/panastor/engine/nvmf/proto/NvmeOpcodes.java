package io.panastor.engine.nvmf.proto;

/** Opcodes and identifiers of the admin, NVM and fabrics command sets used by NVMe/TCP. */
public final class NvmeOpcodes {
    private NvmeOpcodes() {
    }

    // admin (NVMe base 2.0 §5)
    public static final int ADMIN_GET_LOG_PAGE = 0x02;
    public static final int ADMIN_IDENTIFY = 0x06;
    public static final int ADMIN_ABORT = 0x08;
    public static final int ADMIN_SET_FEATURES = 0x09;
    public static final int ADMIN_GET_FEATURES = 0x0A;
    public static final int ADMIN_ASYNC_EVENT_REQUEST = 0x0C;
    public static final int ADMIN_KEEP_ALIVE = 0x18;

    // NVM command set (NVM command set spec 1.0 §3)
    public static final int NVM_FLUSH = 0x00;
    public static final int NVM_WRITE = 0x01;
    public static final int NVM_READ = 0x02;
    public static final int NVM_WRITE_ZEROES = 0x08;
    public static final int NVM_DATASET_MANAGEMENT = 0x09;

    // fabrics (NVMe over Fabrics 1.1 §3.3)
    public static final int FABRICS = 0x7F;
    public static final int FCTYPE_PROPERTY_SET = 0x00;
    public static final int FCTYPE_CONNECT = 0x01;
    public static final int FCTYPE_PROPERTY_GET = 0x04;
    public static final int FCTYPE_AUTH_SEND = 0x05;
    public static final int FCTYPE_AUTH_RECV = 0x06;
    public static final int FCTYPE_DISCONNECT = 0x08;

    // Identify CNS values
    public static final int CNS_NAMESPACE = 0x00;
    public static final int CNS_CONTROLLER = 0x01;
    public static final int CNS_ACTIVE_NAMESPACES = 0x02;
    public static final int CNS_NAMESPACE_DESCRIPTORS = 0x03;

    // log pages
    public static final int LOG_ERROR = 0x01;
    public static final int LOG_SMART = 0x02;
    public static final int LOG_FIRMWARE_SLOT = 0x03;
    public static final int LOG_CHANGED_NAMESPACES = 0x04;
    public static final int LOG_DISCOVERY = 0x70;

    // features
    public static final int FEAT_ARBITRATION = 0x01;
    public static final int FEAT_POWER_MANAGEMENT = 0x02;
    public static final int FEAT_TEMPERATURE_THRESHOLD = 0x04;
    public static final int FEAT_ERROR_RECOVERY = 0x05;
    public static final int FEAT_VOLATILE_WRITE_CACHE = 0x06;
    public static final int FEAT_NUMBER_OF_QUEUES = 0x07;
    public static final int FEAT_WRITE_ATOMICITY = 0x0A;
    public static final int FEAT_ASYNC_EVENT_CONFIG = 0x0B;
    public static final int FEAT_KEEP_ALIVE_TIMER = 0x0F;
    public static final int FEAT_HOST_IDENTIFIER = 0x81;

    // controller properties (fabrics §3.4.1 / base §3.1.4)
    public static final int PROP_CAP = 0x00;
    public static final int PROP_VS = 0x08;
    public static final int PROP_CC = 0x14;
    public static final int PROP_CSTS = 0x1C;
    public static final int PROP_NSSR = 0x20;

    /** The well-known NQN of a discovery subsystem. */
    public static final String DISCOVERY_NQN = "nqn.2014-08.org.nvmexpress.discovery";
}
