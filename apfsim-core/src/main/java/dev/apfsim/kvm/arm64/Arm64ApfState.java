package dev.apfsim.kvm.arm64;

import dev.apfsim.kvm.ApfGfnHash;

/** {@code vcpu->arch.apf} of Gavin Shan's RFCv2 ({@code arch/arm64/include/asm/kvm_host.h}): arm64's own. */
final class Arm64ApfState {
    /** {@code apf.gfns}: gfns with an outstanding async PF ({@code kvm_async_pf_hash_*}). */
    final ApfGfnHash gfns = new ApfGfnHash();
    /** {@code apf.id}: token counter. */
    int id;
    /** {@code apf.send_user_only}. */
    boolean sendUserOnly;
    /** {@code apf.control_block}: address | flags as last accepted. */
    long controlBlock;
    /** GPA of the control block ({@code apf.cache}), valid after a successful enable. */
    long dataGpa = -1;
    /** {@code apf.no_fault_inst_range}. */
    long noFaultInstRange = dev.apfsim.arch.arm64.Arm64Apf.DEFAULT_NO_FAULT_INST_RANGE;
    /** SDEI design: the page-ready PPI and whether one is unacknowledged. */
    int ppi;
    boolean pageReadyPending;
}
