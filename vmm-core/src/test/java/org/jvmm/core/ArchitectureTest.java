package org.jvmm.core;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The layering rules of vmm-core, checked on its compiled classes. */
class ArchitectureTest {

    private static JavaClasses core;

    @BeforeAll
    static void importCore() {
        core = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.jvmm.core");
    }

    @Test
    void coreKnowsNoArchitectureDevicesOrSandbox() {
        noClasses().that().resideInAPackage("org.jvmm.core..")
                .should().dependOnClassesThat().resideInAnyPackage("org.jvmm.x86..", "org.jvmm.arm64..",
                        "org.jvmm.virtio..", "org.jvmm.sandbox..")
                .check(core);
    }

    @Test
    void archNeutralPackagesDoNotDependOnTheLinuxBinding() {
        noClasses().that().resideInAnyPackage("org.jvmm.core.hypervisor..", "org.jvmm.core.memory..",
                        "org.jvmm.core.bus..", "org.jvmm.core.irq..", "org.jvmm.core.run..", "org.jvmm.core.observe..",
                        "org.jvmm.core.platform..")
                .should().dependOnClassesThat().resideInAnyPackage("org.jvmm.core.sys.linux..", "org.jvmm.core.sys.darwin..")
                .check(core);
    }

    @Test
    void onlyTheBindingPackagesCallTheLinker() {
        noClasses().that().resideOutsideOfPackages("org.jvmm.core.sys.linux", "org.jvmm.core.sys.linux.kvm", "org.jvmm.core.sys.darwin")
                .should().dependOnClassesThat().belongToAnyOf(java.lang.foreign.Linker.class)
                .check(core);
    }
}
