package io.panastor.bench;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The architecture the code must keep: the module order bindings &lt;- native &lt;- reactor &lt;-
 * engine &lt;- api &lt;- bench, only native on the bindings, a data plane that imports no gRPC,
 * Kubernetes or logging-framework types, and package dependencies inside engine that point one
 * way. It lives in bench because bench depends on every other module, so all of their main
 * classes are on its test class path. ArchUnit reads bytecode: a compile-time constant
 * ({@code static final int}) is inlined by javac and leaves no dependency to see.
 */
class ArchitectureTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.panastor");
    }

    /** No class in {@code from} depends on a class in {@code to} (ArchUnit package patterns). */
    static ArchRule packageDoesNotDependOn(String from, String... to) {
        return noClasses().that().resideInAPackage(from)
                .should().dependOnClassesThat().resideInAnyPackage(to);
    }

    @Test
    void modulesAreLayered() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("bindings").definedBy("io.panastor.bindings..")
                .layer("native").definedBy("io.panastor.natives..")
                .layer("reactor").definedBy("io.panastor.reactor..")
                .layer("engine").definedBy("io.panastor.engine..")
                .layer("api").definedBy("io.panastor.api..")
                .layer("bench").definedBy("io.panastor.bench..")
                .whereLayer("bench").mayNotBeAccessedByAnyLayer()
                .whereLayer("api").mayOnlyBeAccessedByLayers("bench")
                .whereLayer("engine").mayOnlyBeAccessedByLayers("api", "bench")
                .whereLayer("reactor").mayOnlyBeAccessedByLayers("engine", "api", "bench")
                .whereLayer("native").mayOnlyBeAccessedByLayers("reactor", "engine", "api", "bench")
                .whereLayer("bindings").mayOnlyBeAccessedByLayers("native")
                .check(classes);
    }

    @Test
    void onlyNativeUsesTheBindings() {
        noClasses().that().resideOutsideOfPackages("io.panastor.natives..", "io.panastor.bindings..")
                .should().dependOnClassesThat().resideInAPackage("io.panastor.bindings..")
                .check(classes);
    }

    @Test
    void dataPlaneImportsNoGrpcKubernetesOrLoggingFramework() {
        // The data plane logs through System.Logger; the executable (api) binds it to a backend.
        noClasses().that().resideInAnyPackage("io.panastor.natives..", "io.panastor.reactor..", "io.panastor.engine..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "io.grpc..", "io.fabric8..", "com.google.protobuf..",
                        "org.slf4j..", "ch.qos.logback..", "org.apache.logging..", "java.util.logging..")
                .check(classes);
    }

    @Test
    void bdevDoesNotDependOnNvmf() {
        packageDoesNotDependOn("io.panastor.engine.bdev..", "io.panastor.engine.nvmf..").check(classes);
    }

    @Test
    void nvmfProtoDependsOnNoOtherNvmfPackage() {
        packageDoesNotDependOn("io.panastor.engine.nvmf.proto..",
                "io.panastor.engine.nvmf.tcp..", "io.panastor.engine.nvmf.tgt..", "io.panastor.engine.nvmf.host..")
                .check(classes);
    }

    @Test
    void nvmfTcpDependsOnNeitherSide() {
        packageDoesNotDependOn("io.panastor.engine.nvmf.tcp..",
                "io.panastor.engine.nvmf.tgt..", "io.panastor.engine.nvmf.host..")
                .check(classes);
    }

    @Test
    void targetAndHostDoNotDependOnEachOther() {
        packageDoesNotDependOn("io.panastor.engine.nvmf.tgt..", "io.panastor.engine.nvmf.host..").check(classes);
        packageDoesNotDependOn("io.panastor.engine.nvmf.host..", "io.panastor.engine.nvmf.tgt..").check(classes);
    }

    @Test
    void bdevKindsDoNotDependOnEachOther() {
        // One slice per subpackage of bdev (malloc, nulldev, uring, and any kind added later);
        // the bdev package itself, the SPI they all use, is in no slice.
        slices().matching("io.panastor.engine.bdev.(*)..").should().notDependOnEachOther().check(classes);
    }

    /**
     * The rules can fail: the same rule as {@link #targetAndHostDoNotDependOnEachOther}, over
     * two test-only fixture packages in which "tgt" uses "host", holds one way and not the other.
     */
    @Test
    void aPackageRuleFailsOnAViolatingPair() {
        JavaClasses fixture = new ClassFileImporter().importPackages("io.panastor.bench.archfixture");
        String tgt = "io.panastor.bench.archfixture.tgt..";
        String host = "io.panastor.bench.archfixture.host..";

        assertThatThrownBy(() -> packageDoesNotDependOn(tgt, host).check(fixture))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("FixtureTarget")
                .hasMessageContaining("FixtureHost");
        assertThatCode(() -> packageDoesNotDependOn(host, tgt).check(fixture)).doesNotThrowAnyException();
    }
}
