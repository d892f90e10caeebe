package dev.apfsim.trace;

import dev.apfsim.trace.TraceEvent.*;

/**
 * The fixed binary record of each canonical event that the fingerprint hashes (docs/json.md#fingerprint): a tag
 * byte naming the event, its time in ns (8 bytes) and vCPU (4 bytes), then its fields in declaration order — longs
 * as 8 bytes, ints as 4, booleans as 1, strings as their length in chars (4 bytes; -1 for null) and each char as 2
 * bytes — all little-endian. Every field is fixed-size or length-prefixed, so two different event streams never
 * encode alike. Tags are part of the format: never renumber one, give a new event the next free tag.
 */
public final class CanonicalEncoding {
    private CanonicalEncoding() {
    }

    /** Room a record needs without its strings (tag, time, vCPU and at most seven 8-byte fields). */
    static final int MAX_FIXED = 1 + 8 + 4 + 7 * 8;

    /** Writes {@code e}'s record to {@code out}. */
    public static void write(TraceEvent e, RecordOut out) {
        switch (e) {
            case TryAsyncGetPage t -> out.head(1, t.time(), t.vcpu()).i64(t.gva()).i64(t.gfn());
            case RepeatedFault t -> out.head(2, t.time(), t.vcpu()).i64(t.gva()).i64(t.gfn());
            case NotPresent t -> out.head(3, t.time(), t.vcpu()).i64(t.token()).i64(t.gva());
            case Ready t -> out.head(4, t.time(), t.vcpu()).i64(t.token()).i64(t.gva());
            case Completed t -> out.head(5, t.time(), t.vcpu()).i64(t.address()).i64(t.gva());
            case InjException t -> out.head(6, t.time(), t.vcpu()).i32(t.vector()).bool(t.hasError())
                    .i32(t.errorCode());
            case NestedVmexitInject t -> out.head(7, t.time(), t.vcpu()).str(t.reason()).i64(t.exitQualification())
                    .i64(t.idtVectoringInfo()).i32(t.intrInfo()).i32(t.intrErrorCode());
            case Migrated t -> out.head(8, t.time(), t.vcpu()).i64(t.pendingToken()).str(t.restoredAs());
            case ApicAcceptIrq t -> out.head(9, t.time(), t.vcpu()).i32(t.apicId()).i32(t.vector());
            case Msr t -> out.head(10, t.time(), t.vcpu()).bool(t.write()).i32(t.msr()).i64(t.data()).bool(t.gp());
            case HvcArm64 t -> out.head(11, t.time(), t.vcpu()).i64(t.vcpuPc()).i64(t.r0()).i64(t.imm());
            case UserspaceExit t -> out.head(12, t.time(), t.vcpu()).i32(t.errno()).str(t.why());
            case S390MajorGuestPfault t -> out.head(13, t.time(), t.vcpu()).i64(t.pswMask()).i64(t.pswAddr());
            case S390PfaultInit t -> out.head(14, t.time(), t.vcpu()).i64(t.pswMask()).i64(t.pswAddr())
                    .i64(t.pfaultToken());
            case S390PfaultDone t -> out.head(15, t.time(), t.vcpu()).i64(t.pswMask()).i64(t.pswAddr())
                    .i64(t.pfaultToken());
            case Arm64Inject t -> out.head(16, t.time(), t.vcpu()).str(t.kind()).i64(t.token()).i32(t.reason())
                    .i64(t.pc()).str(t.region());
            case SyncFault t -> out.head(17, t.time(), t.vcpu()).i64(t.gfn()).str(t.reason());
            case ApfHalt t -> out.head(18, t.time(), t.vcpu()).i64(t.gfn());
            case WakeupAllQueued t -> out.head(19, t.time(), t.vcpu());
            case QueueCleared t -> out.head(20, t.time(), t.vcpu()).i32(t.discarded()).str(t.cause());
            case Prefault t -> out.head(21, t.time(), t.vcpu()).i64(t.gfn()).bool(t.fixed()).str(t.why());
            case VcpuState t -> out.head(22, t.time(), t.vcpu()).str(t.state());
            case PageIo t -> out.head(23, t.time(), t.vcpu()).i64(t.gfn()).bool(t.done()).bool(t.failed());
            case Violation t -> out.head(24, t.time(), t.vcpu()).str(t.invariant()).str(t.detail());
            case GuestApfWait t -> out.head(25, t.time(), t.vcpu()).i32(t.task()).i64(t.token())
                    .bool(t.dummyConsumed());
            case GuestApfWake t -> out.head(26, t.time(), t.vcpu()).i32(t.task()).i64(t.token());
            case GuestApfWakeAll t -> out.head(27, t.time(), t.vcpu()).i32(t.woken());
            case GuestSwitch t -> out.head(28, t.time(), t.vcpu()).i32(t.prev()).i32(t.next());
            case GuestWakeup t -> out.head(29, t.time(), t.vcpu()).i32(t.task()).bool(t.apf());
            case GuestTaskExit t -> out.head(30, t.time(), t.vcpu()).i32(t.task());
            case GuestPageFault t -> out.head(31, t.time(), t.vcpu()).i32(t.task()).i64(t.address());
            case GuestPanic t -> out.head(32, t.time(), t.vcpu()).str(t.message());
            case GuestTaskKilled t -> out.head(33, t.time(), t.vcpu()).i32(t.task()).str(t.signal())
                    .i64(t.address());
            case Pio t -> out.head(34, t.time(), t.vcpu()).bool(t.write()).i32(t.port()).i32(t.size()).i64(t.val());
        }
    }
}
