package dev.apfsim.sim;

import dev.apfsim.guest.GuestConfig;
import dev.apfsim.host.KvmConfig;
import dev.apfsim.scenario.Scenario;

/**
 * The {@code --apf} switch of the CLI: {@code on} (the guest enables PV async PF as configured, Linux by
 * default), {@code off} (the guest never writes the MSRs, as with {@code no-kvmapf}; the host still uses the
 * synthetic halt) and {@code sync} (no async PF in the host at all, as before 2.6.38: every fault blocks). A test
 * guest's kernel never enables by itself, so {@code on} and {@code off} leave it as written.
 */
public enum ApfSwitch {
    ON, OFF, SYNC;

    public static ApfSwitch parse(String s) {
        return switch (s.trim().toLowerCase()) {
            case "on" -> ON;
            case "off" -> OFF;
            case "sync" -> SYNC;
            default -> throw new IllegalArgumentException("--apf takes on, off or sync, not '" + s + "'");
        };
    }

    public Scenario apply(Scenario s) {
        KvmConfig k = s.kvm();
        GuestConfig g = s.guest();
        if (g.isTest() && this != SYNC) {
            return s.withKvm(withAsync(k, true)); // a test guest's own script decides whether it enables
        }
        return switch (this) {
            case ON -> s.withKvm(withAsync(k, true)).withGuest(g.apf() == GuestConfig.ApfMode.NEVER
                    ? withApf(g, GuestConfig.ApfMode.LINUX) : g);
            case OFF -> s.withKvm(withAsync(k, true)).withGuest(withApf(g, GuestConfig.ApfMode.NEVER));
            case SYNC -> s.withKvm(withAsync(k, false));
        };
    }

    private static KvmConfig withAsync(KvmConfig k, boolean on) {
        return k.withAsyncPf(on);
    }

    private static GuestConfig withApf(GuestConfig g, GuestConfig.ApfMode m) {
        return new GuestConfig(m, g.enBits(), g.apfVector(), g.pfHandler(), g.timesliceNs(), g.tickNs(),
                g.pfHandlerNs(), g.irqHandlerNs(), g.timerHandlerNs(), g.contextSwitchNs(), g.scheduler(), g.test(), g.version(),
                g.disabledPageReady(), g.timerVector());
    }

    public String word() {
        return name().toLowerCase();
    }
}
