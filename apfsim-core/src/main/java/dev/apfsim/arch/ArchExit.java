package dev.apfsim.arch;

/** An exit only one architecture has (x86 MSR and CR accesses, arm64 HVC, s390 DIAGNOSE); see its package. */
public non-sealed interface ArchExit extends GuestExit {
}
