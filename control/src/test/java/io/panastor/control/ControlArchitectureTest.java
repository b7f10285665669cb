package io.panastor.control;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * The control plane drives engines only through their gRPC API: its main classes use api (the
 * generated clients and protos, the shared CLI types) and none of the data plane's, and nothing
 * left of it in the module order depends on it. (bench's ArchitectureTest holds the rest.)
 */
class ControlArchitectureTest {
    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.panastor");

    @Test
    void theControlPlaneUsesNoDataPlaneClass() {
        noClasses().that().resideInAPackage("io.panastor.control..")
                .should().dependOnClassesThat().resideInAnyPackage("io.panastor.engine..", "io.panastor.reactor..",
                        "io.panastor.natives..", "io.panastor.bindings..", "io.panastor.bench..")
                .check(CLASSES);
    }

    @Test
    void nothingBeforeItDependsOnTheControlPlane() {
        noClasses().that().resideOutsideOfPackage("io.panastor.control..")
                .should().dependOnClassesThat().resideInAPackage("io.panastor.control..")
                .check(CLASSES);
    }
}
