package dev.apfsim.kvm;

/** The {@code kvm_arch_*} hooks that {@code virt/kvm/async_pf.c} calls; one implementation per architecture. */
public interface AsyncPfArch {
    /** {@code kvm_arch_async_page_not_present}: true if the guest was told (notpresent_injected). */
    boolean asyncPageNotPresent(KvmAsyncPf work);

    /** {@code kvm_arch_async_page_ready}: the prefault before the guest retries. */
    void asyncPageReady(KvmAsyncPf work);

    /** {@code kvm_arch_async_page_present}: unhash, trace, maybe notify the guest, unhalt. */
    void asyncPagePresent(KvmAsyncPf work);

    /** {@code kvm_arch_async_page_present_queued}: first item on the done list. */
    void asyncPagePresentQueued();

    /** {@code kvm_arch_can_dequeue_async_page_present}. */
    boolean canDequeueAsyncPagePresent();

    /** {@code __kvm_vcpu_wake_up}: the worker wakes a blocked vCPU. */
    void vcpuWakeUp();
}
