package dev.apfsim.architecture;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The package rules of docs/architecture.md: the generic KVM core knows no architecture, no architecture knows
 * another, guest and host meet only at the neutral {@code dev.apfsim.arch} boundary, and the model never depends on
 * the checker (or on anything built on top of it).
 */
@AnalyzeClasses(packages = "dev.apfsim", importOptions = ImportOption.DoNotIncludeTests.class)
class PackageRulesTest {
    /** The simulation model: what the checker observes. */
    static final String[] MODEL = {"dev.apfsim.engine..", "dev.apfsim.memory..", "dev.apfsim.arch..",
            "dev.apfsim.kvm..", "dev.apfsim.guest..", "dev.apfsim.workload..", "dev.apfsim.metrics..",
            "dev.apfsim.trace..", "dev.apfsim.perturb.."};

    @ArchTest
    static final ArchRule genericKvmKnowsNoArchitecture = noClasses().that().resideInAPackage("dev.apfsim.kvm")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.kvm.x86..", "dev.apfsim.kvm.arm64..",
                    "dev.apfsim.kvm.s390..", "dev.apfsim.arch.x86..", "dev.apfsim.arch.arm64..",
                    "dev.apfsim.arch.s390..", "dev.apfsim.guest..", "dev.apfsim.check..");

    @ArchTest
    static final ArchRule x86KnowsNoOtherArchitecture = noClasses().that().resideInAnyPackage("dev.apfsim.kvm.x86..",
                    "dev.apfsim.arch.x86..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.kvm.arm64..", "dev.apfsim.kvm.s390..",
                    "dev.apfsim.arch.arm64..", "dev.apfsim.arch.s390..");

    @ArchTest
    static final ArchRule arm64KnowsNoOtherArchitecture = noClasses().that()
            .resideInAnyPackage("dev.apfsim.kvm.arm64..", "dev.apfsim.arch.arm64..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.kvm.x86..", "dev.apfsim.kvm.s390..",
                    "dev.apfsim.arch.x86..", "dev.apfsim.arch.s390..");

    @ArchTest
    static final ArchRule s390KnowsNoOtherArchitecture = noClasses().that()
            .resideInAnyPackage("dev.apfsim.kvm.s390..", "dev.apfsim.arch.s390..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.kvm.x86..", "dev.apfsim.kvm.arm64..",
                    "dev.apfsim.arch.x86..", "dev.apfsim.arch.arm64..");

    @ArchTest
    static final ArchRule boundaryBelongsToNeitherSide = noClasses().that().resideInAPackage("dev.apfsim.arch..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.kvm..", "dev.apfsim.guest..",
                    "dev.apfsim.memory..");

    @ArchTest
    static final ArchRule guestReachesNoHostObject = noClasses().that().resideInAPackage("dev.apfsim.guest..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.kvm..", "dev.apfsim.host..")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("dev.apfsim.memory.HostMemory");

    @ArchTest
    static final ArchRule hostReachesNoGuestObject = noClasses().that().resideInAPackage("dev.apfsim.kvm..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.guest..", "dev.apfsim.workload..");

    /** The generic guest kernel names no architecture: entry code plugs in through {@code guest.ArchEntry}. */
    @ArchTest
    static final ArchRule genericGuestKnowsNoArchitecture = noClasses().that().resideInAPackage("dev.apfsim.guest")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.guest.x86..", "dev.apfsim.guest.arm64..",
                    "dev.apfsim.guest.s390..", "dev.apfsim.arch.x86..", "dev.apfsim.arch.arm64..",
                    "dev.apfsim.arch.s390..", "dev.apfsim.kvm..");

    @ArchTest
    static final ArchRule x86GuestKnowsNoOtherArchitecture = noClasses().that()
            .resideInAPackage("dev.apfsim.guest.x86..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.guest.arm64..", "dev.apfsim.guest.s390..",
                    "dev.apfsim.arch.arm64..", "dev.apfsim.arch.s390..", "dev.apfsim.kvm..");

    @ArchTest
    static final ArchRule arm64GuestKnowsNoOtherArchitecture = noClasses().that()
            .resideInAPackage("dev.apfsim.guest.arm64..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.guest.x86..", "dev.apfsim.guest.s390..",
                    "dev.apfsim.arch.x86..", "dev.apfsim.arch.s390..", "dev.apfsim.kvm..");

    @ArchTest
    static final ArchRule s390GuestKnowsNoOtherArchitecture = noClasses().that()
            .resideInAPackage("dev.apfsim.guest.s390..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.guest.x86..", "dev.apfsim.guest.arm64..",
                    "dev.apfsim.arch.x86..", "dev.apfsim.arch.arm64..", "dev.apfsim.kvm..");

    @ArchTest
    static final ArchRule modelDoesNotImportTheChecker = noClasses().that().resideInAnyPackage(MODEL)
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.check..", "dev.apfsim.explore..",
                    "dev.apfsim.sim..", "dev.apfsim.scenario..", "dev.apfsim.host..", "dev.apfsim.report..");

    @ArchTest
    static final ArchRule checkerBelowWiring = noClasses().that().resideInAPackage("dev.apfsim.check..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.apfsim.sim..", "dev.apfsim.explore..",
                    "dev.apfsim.scenario..", "dev.apfsim.report..");

    @ArchTest
    static final ArchRule modelPackagesFreeOfCycles = slices().matching("dev.apfsim.(kvm|arch|trace|engine|metrics)..")
            .should().beFreeOfCycles();
}
