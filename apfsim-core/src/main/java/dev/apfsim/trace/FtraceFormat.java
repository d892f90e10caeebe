package dev.apfsim.trace;

import dev.apfsim.trace.TraceEvent.*;

/**
 * Formats events as {@code trace-cmd report} lines: {@code comm-pid [cpu] secs.micros: name: fields}, with the
 * fields printed by each tracepoint's own TP_printk format so lines diff cleanly against a real host's trace.
 *
 * <p>The CPU column is the CPU that emitted the event, as ftrace prints it: for a vCPU thread's events (and the
 * VMM's, on the same thread after KVM_RUN returns) the host CPU the thread ran on then, for a kworker its CPU. A
 * guest line ({@code guest-cpuN-0}) is the guest's own view: its column is the guest CPU (the vCPU), as the guest's
 * ftrace would print it.
 */
public final class FtraceFormat {
    private FtraceFormat() {
    }

    /** The line with vCPU thread i on host CPU i (one host CPU per vCPU, pinned). */
    public static String line(TraceEvent e) {
        return line(e, Math.max(e.vcpu(), 0));
    }

    /** The line of an event emitted while its vCPU thread ran on host CPU {@code hostCpu}. */
    public static String line(TraceEvent e, int hostCpu) {
        StringBuilder sb = new StringBuilder(120);
        appendLine(sb, e, hostCpu);
        return sb.toString();
    }

    /** {@link #appendLine(StringBuilder, TraceEvent, int)} with vCPU thread i on host CPU i. */
    public static void appendLine(StringBuilder sb, TraceEvent e) {
        appendLine(sb, e, Math.max(e.vcpu(), 0));
    }

    /** Appends the line of {@code e}; {@code hostCpu}: where its vCPU thread ran when it was emitted. */
    public static void appendLine(StringBuilder sb, TraceEvent e, int hostCpu) {
        int vcpu = Math.max(e.vcpu(), 0);
        int cpu = switch (e.actor()) {
            case VCPU_THREAD, VMM -> {
                sb.append("CPU ").append(vcpu).append("/KVM-").append(1000 + vcpu);
                yield hostCpu;
            }
            case WORKER -> {
                worker(sb, e);
                yield workerCpu(e);
            }
            case GUEST -> {
                sb.append("guest-cpu").append(vcpu).append('-').append(0);
                yield vcpu;
            }
        };
        sb.append(" [");
        if (cpu < 100) {
            sb.append('0');
        }
        if (cpu < 10) {
            sb.append('0');
        }
        sb.append(cpu).append("] ");
        long micros = e.time() / 1000;
        sb.append(micros / 1_000_000).append('.');
        long frac = micros % 1_000_000;
        for (long d = 100_000; d > 0; d /= 10) {
            sb.append((char) ('0' + (frac / d) % 10));
        }
        sb.append(": ").append(e.name()).append(": ");
        appendFields(sb, e);
    }

    /**
     * A bound per-CPU kworker's comm, as {@code create_worker} names it ({@code "kworker/%d:%d"}: CPU, pool index),
     * with a pid made of both; a worker line's CPU column is the worker's CPU.
     */
    private static void worker(StringBuilder sb, TraceEvent e) {
        int cpu = workerCpu(e);
        int id = switch (e) {
            case Completed c -> c.worker();
            case S390PfaultDone d -> d.worker();
            default -> 0;
        };
        id = Math.max(id, 0);
        sb.append("kworker/").append(cpu).append(':').append(id).append('-').append(2000 + 1000 * cpu + id);
    }

    private static int workerCpu(TraceEvent e) {
        int cpu = switch (e) {
            case Completed c -> c.hostCpu();
            case S390PfaultDone d -> d.hostCpu();
            default -> e.vcpu();
        };
        return Math.max(cpu, 0);
    }

    private static StringBuilder s390(StringBuilder sb, int vcpu, long pswMask, long pswAddr) {
        return sb.append(String.format("%02d[%016x-%016x]: ", vcpu, pswMask, pswAddr));
    }

    /** The part after "name: ", exactly as the kernel's TP_printk prints it. */
    public static void appendFields(StringBuilder sb, TraceEvent e) {
        switch (e) {
            // "gva = %#llx, gfn = %#llx"
            case TryAsyncGetPage t -> appendHex(appendHex(sb.append("gva = "), t.gva()).append(", gfn = "), t.gfn());
            case RepeatedFault t -> appendHex(appendHex(sb.append("gva = "), t.gva()).append(", gfn = "), t.gfn());
            // "token %#llx gva %#llx"
            case NotPresent t -> appendHex(appendHex(sb.append("token "), t.token()).append(" gva "), t.gva());
            case Ready t -> appendHex(appendHex(sb.append("token "), t.token()).append(" gva "), t.gva());
            // "gva %#llx address %#lx"
            case Completed t -> appendHex(appendHex(sb.append("gva "), t.gva()).append(" address "), t.address());
            // "%s%s%s%s%s": symbolic vector, then " (0x%lx)" for the error code
            case InjException t -> {
                sb.append(exceptionName(t.vector()));
                if (t.hasError()) {
                    sb.append(" (0x").append(Integer.toHexString(t.errorCode())).append(')');
                }
            }
            // "reason: %s%s%s ext_inf1: 0x%016llx ext_inf2: 0x%016llx ext_int: 0x%08x ext_int_err: 0x%08x"
            case NestedVmexitInject t -> sb.append("reason: ").append(t.reason()).append(" ext_inf1: 0x")
                    .append(String.format("%016x", t.exitQualification())).append(" ext_inf2: 0x")
                    .append(String.format("%016x", t.idtVectoringInfo())).append(" ext_int: 0x")
                    .append(String.format("%08x", t.intrInfo())).append(" ext_int_err: 0x")
                    .append(String.format("%08x", t.intrErrorCode()));
            case Migrated t -> sb.append("pending_token ").append(t.pendingToken() < 0 ? "none" : hex(t.pendingToken()))
                    .append(" restored_as ").append(t.restoredAs());
            // "apicid %x vec %u (%s|%s)"
            case ApicAcceptIrq t -> appendHexDigits(sb.append("apicid "), t.apicId() & 0xffffffffL).append(" vec ")
                    .append(t.vector()).append(" (Fixed|edge)");
            // "msr_%s %x = 0x%llx%s"
            case Msr t -> appendHexDigits(appendHexDigits(sb.append(t.write() ? "msr_write " : "msr_read "),
                    t.msr() & 0xffffffffL).append(" = 0x"), t.data()).append(t.gp() ? " (#GP)" : "");
            // "HVC at 0x%08lx (r0: 0x%08lx, imm: 0x%lx)"
            case HvcArm64 t -> sb.append("HVC at 0x").append(String.format("%08x", t.vcpuPc())).append(" (r0: 0x")
                    .append(String.format("%08x", t.r0())).append(", imm: 0x").append(Long.toHexString(t.imm()))
                    .append(')');
            // "%02d[%016lx-%016lx]: " p_str (VCPU_TP_PRINTK of arch/s390/kvm/trace.h)
            case S390MajorGuestPfault t -> s390(sb, t.vcpu(), t.pswMask(), t.pswAddr())
                    .append("major fault, maybe applicable for pfault");
            case S390PfaultInit t -> s390(sb, t.vcpu(), t.pswMask(), t.pswAddr()).append("init pfault token ")
                    .append(t.pfaultToken());
            case S390PfaultDone t -> s390(sb, t.vcpu(), t.pswMask(), t.pswAddr()).append("done pfault token ")
                    .append(t.pfaultToken());
            case Arm64Inject t -> appendHex(sb.append(t.kind()).append(" token "), t.token()).append(" reason ")
                    .append(t.reason()).append(" pc ").append(hex(t.pc())).append(" (").append(t.region()).append(')');
            // "reason %s (%d)"
            // "pio_%s at 0x%x size %d count %d val 0x%llx %s" (trace_kvm_pio)
            case Pio t -> sb.append(t.write() ? "pio_write" : "pio_read").append(" at 0x")
                    .append(Integer.toHexString(t.port())).append(" size ").append(t.size()).append(" count 1 val 0x")
                    .append(Long.toHexString(t.val())).append(' ');
            // kvm_userspace_exit's TP_printk: "reason %s (%d)", "error" and -errno for a failed KVM_RUN; the model's
            // reason (efault, hwpoison, efault-request) is in the event's why field and the --events log only
            case UserspaceExit t -> sb.append("reason error (").append(t.errno()).append(')');
            case SyncFault t -> appendHex(sb.append("gfn "), t.gfn()).append(" reason ").append(t.reason());
            case ApfHalt t -> appendHex(sb.append("gfn "), t.gfn());
            case WakeupAllQueued t -> sb.append("token 0xffffffff");
            case QueueCleared t -> sb.append("discarded ").append(t.discarded()).append(" cause ").append(t.cause());
            case Prefault t -> appendHex(sb.append("gfn "), t.gfn()).append(t.fixed() ? " fixed" : " skipped")
                    .append(t.why().isEmpty() ? "" : " ").append(t.why());
            case VcpuState t -> sb.append("state ").append(t.state());
            case PageIo t -> appendHex(sb.append("gfn "), t.gfn()).append(t.done() ? (t.failed() ? " failed" : " done") : " start");
            case Violation t -> sb.append(t.invariant()).append(": ").append(t.detail());
            case GuestApfWait t -> appendHex(sb.append("task ").append(t.task()).append(" token "), t.token())
                    .append(t.dummyConsumed() ? " dummy" : " sleep");
            case GuestApfWake t -> {
                appendHex(sb.append("token "), t.token());
                if (t.task() < 0) {
                    sb.append(" dummy");
                } else {
                    sb.append(" task ").append(t.task());
                }
            }
            case GuestApfWakeAll t -> sb.append("woken ").append(t.woken());
            case GuestSwitch t -> sb.append("prev ").append(t.prev()).append(" next ").append(t.next());
            case GuestWakeup t -> sb.append("task ").append(t.task()).append(t.apf() ? " apf" : "");
            case GuestTaskExit t -> sb.append("task ").append(t.task());
            case GuestPageFault t -> appendHex(sb.append("task ").append(t.task()).append(" address "), t.address());
            case GuestPanic t -> sb.append(t.message());
            case GuestTaskKilled t -> sb.append("task ").append(t.task()).append(' ').append(t.signal())
                    .append(" address ").append(hex(t.address()));
        }
    }

    /** Kernel {@code %#llx}: 0 prints as 0x0 ({@code lib/vsprintf.c: number}). */
    public static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    /** {@link #hex} appended without allocating (the trace and the fingerprint format every event). */
    static StringBuilder appendHex(StringBuilder sb, long v) {
        return appendHexDigits(sb.append('0').append('x'), v);
    }

    /** {@code Long.toHexString(v)} appended without allocating. */
    public static StringBuilder appendHexDigits(StringBuilder sb, long v) {
        int nibbles = Math.max(1, (64 - Long.numberOfLeadingZeros(v) + 3) / 4);
        for (int i = nibbles - 1; i >= 0; i--) {
            sb.append(DIGITS[(int) (v >>> (i * 4)) & 0xf]);
        }
        return sb;
    }

    /** {@code kvm_trace_sym_exc}. */
    static String exceptionName(int vector) {
        return switch (vector) {
            case 0 -> "#DE";
            case 1 -> "#DB";
            case 3 -> "#BP";
            case 4 -> "#OF";
            case 5 -> "#BR";
            case 6 -> "#UD";
            case 7 -> "#NM";
            case 8 -> "#DF";
            case 10 -> "#TS";
            case 11 -> "#NP";
            case 12 -> "#SS";
            case 13 -> "#GP";
            case 14 -> "#PF";
            case 16 -> "#MF";
            case 17 -> "#AC";
            case 18 -> "#MC";
            default -> "0x" + Integer.toHexString(vector);
        };
    }
}
