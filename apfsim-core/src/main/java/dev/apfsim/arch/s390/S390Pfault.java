package dev.apfsim.arch.s390;

/**
 * The s390 pfault handshake as both sides know it: DIAGNOSE X'258' ("page-reference services", SC24-6084) with
 * its parameter block, the external interruption that signals a missing and an arrived page, the lowcore word the
 * token is read from, and the PSW bits the host compares ({@code arch/s390/mm/pfault.c},
 * {@code arch/s390/kvm/diag.c}, {@code arch/s390/kvm/interrupt.c}).
 */
public final class S390Pfault {
    private S390Pfault() {
    }

    /** DIAGNOSE code of the page-reference services. */
    public static final int DIAG_PAGE_REF = 0x258;
    /** Parameter block subcodes ({@code reffcode}): establish the token, cancel it. */
    public static final int SUBCODE_TOKEN = 0;
    public static final int SUBCODE_CANCEL = 1;

    /**
     * {@code struct prs_parm} / {@code pfault_refbk}: u16 code, subcode, len, version; u64 token address, select,
     * compare, zarch (the model keeps the u16 pairs in one 32-bit word each).
     */
    public static final int PARM_CODE = 0;
    public static final int PARM_SUBCODE = 2;
    public static final int PARM_LEN = 4;
    public static final int PARM_VERSION = 6;
    public static final int PARM_TOKEN_ADDR = 8;
    public static final int PARM_SELECT = 16;
    public static final int PARM_COMPARE = 24;
    public static final int PARM_ZARCH = 32;
    public static final int PARM_SIZE = 40;
    /** {@code __PF_RES_FIELD}: the z/Architecture bit the host insists on in {@code zarch}. */
    public static final long PF_RES_FIELD = 0x8000000000000000L;

    /** DIAG 258 return codes in Ry: done, token already established (SC24-6084: 8), nothing to cancel (4). */
    public static final long RC_OK = 0;
    public static final long RC_NOT_ESTABLISHED = 4;
    public static final long RC_ALREADY_ESTABLISHED = 8;

    /** {@code EXT_IRQ_CP_SERVICE}: the external interruption code of both pfault signals. */
    public static final int EXT_IRQ_CP_SERVICE = 0x2603;
    /** {@code PFAULT_INIT} / {@code PFAULT_DONE}: the subcode stored in the "cpu address" field. */
    public static final int PFAULT_INIT = 0x0600;
    public static final int PFAULT_DONE = 0x0680;
    /** {@code __SUBCODE_MASK} and {@code PF_COMPLETE} of the guest's {@code pfault_interrupt}. */
    public static final int SUBCODE_MASK = 0x0600;
    public static final int PF_COMPLETE = 0x0080;

    /** {@code lowcore.lpp} (u32, then {@code current_pid}): the 8-byte word the token address names. */
    public static final long LPP_MAGIC = 1L << 31;
    public static final long LPP_PID_MASK = 0xffffffffL;

    /** {@code KVM_S390_PFAULT_TOKEN_INVALID}. */
    public static final long PFAULT_TOKEN_INVALID = 0xffffffffffffffffL;

    /** PSW mask bits (bit 0 is the most significant). */
    public static final long PSW_MASK_DAT = 0x0400000000000000L;
    public static final long PSW_MASK_IO = 0x0200000000000000L;
    public static final long PSW_MASK_EXT = 0x0100000000000000L;
    public static final long PSW_MASK_MCHECK = 0x0004000000000000L;
    /** Problem state: the bit Linux's {@code refselmk}/{@code refcmpmk} (1UL << 48) select. */
    public static final long PSW_MASK_PSTATE = 0x0001000000000000L;
    public static final long PSW_MASK_EA = 0x0000000100000000L;
    public static final long PSW_MASK_BA = 0x0000000080000000L;
}
