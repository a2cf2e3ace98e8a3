package org.regularize4j.testutil;

import org.regularize4j.backend.DirectConv;
import org.regularize4j.backend.NativeBackend;
import org.regularize4j.backend.NativeKernels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Where the tests must find the fast channels-last path (oneDNN convolutions plus the bundled native kernels), and
 * the guard that tests of that path call first: on such a machine the path must be in use (the test fails if it
 * silently fell back), anywhere else the test is skipped with the reason.
 *
 * <p>The fast path is expected on Linux x86-64 with AVX2 and FMA, unless the build says otherwise:
 * {@code mvn -Pportable} (a build without the fast path's natives, as on macOS, Windows or ARM) passes
 * {@code -Dregularize4j.expectFastPath=false}. The build also passes the ND4J native build it put on the class
 * path ({@code regularize4j.expectNd4jBuild}).
 *
 * <pre>{@code
 * @Test
 * void channelsLastMatchesNchw() {
 *     FastPath.requireDirectConv();   // fails on Linux x86-64 (AVX2) if DirectConv is not usable, skips elsewhere
 *     ...
 * }
 * }</pre>
 */
public final class FastPath {
    /** System property: {@code false} when the build left out the fast path's natives ({@code -Pportable}). */
    public static final String EXPECT_PROPERTY = "regularize4j.expectFastPath";
    /** System property: the nd4j-native classifier the build put on the class path (empty or absent: not said). */
    public static final String BUILD_PROPERTY = "regularize4j.expectNd4jBuild";

    private static final String WHY_NOT = whyNot();

    private FastPath() {
    }

    /** Whether the fast path must be in use here. */
    public static boolean expected() {
        return WHY_NOT == null;
    }

    /** Why the fast path is not expected here, or null when it is. */
    public static String whyNotExpected() {
        return WHY_NOT;
    }

    /**
     * Guard of a test of one part of the fast path: where the fast path is expected, asserts that the part is
     * usable; elsewhere skips the test, saying why, unless the part happens to be usable (then the test runs).
     */
    public static void require(String part, boolean usable, String status) {
        if (expected()) {
            assertTrue(usable, part + " must be in use on this machine (Linux x86-64 with AVX2 and FMA), but: " + status);
        } else {
            assumeTrue(usable, part + " not usable here (" + status + "), as expected: " + WHY_NOT);
        }
    }

    /** {@link #require} for the bundled native kernels ({@code libr4jkernels.so}). */
    public static void requireNativeKernels() {
        require("NativeKernels", NativeKernels.isLoaded(), NativeKernels.status());
    }

    /** {@link #require} for the direct oneDNN convolutions (and so the channels-last layers). */
    public static void requireDirectConv() {
        require("DirectConv", DirectConv.isUsable(), DirectConv.status());
    }

    /**
     * {@link #require} for libnd4j's own oneDNN kernels (ND4J's {@code -onednn-avx2} build, which this project's
     * build puts on the class path on Linux x86-64): expected where the build says it put that build there and the
     * CPU can run it.
     */
    public static void requireNd4jOneDnn() {
        NativeBackend b = NativeBackend.current();
        String build = expectedNd4jBuild();
        if (build != null && build.contains("onednn")) {
            assertTrue(b.oneDnnEnabled(), "ND4J's oneDNN build must be in use here: " + b.describe());
        } else {
            assumeTrue(b.oneDnnEnabled(), "ND4J's oneDNN build is not in use here (" + b.describe() + "), as expected: "
                    + (build == null ? "this build does not say which ND4J build it loads"
                    : "this build put ND4J's " + build + " build on the class path"));
        }
    }

    /**
     * The nd4j-native classifier whose libnd4j must be loaded, from the build ({@value #BUILD_PROPERTY}); null
     * when the build does not say (a run outside Maven). JavaCPP skips an {@code -avx2} build on a CPU without
     * AVX2 and loads the plain one: then the plain one is expected.
     */
    public static String expectedNd4jBuild() {
        String build = System.getProperty(BUILD_PROPERTY, "").trim();
        if (build.isEmpty()) {
            return null;
        }
        if (build.endsWith("-avx2") && !cpuHasAvx2AndFma()) {
            return build.substring(0, build.indexOf('-', build.indexOf('-') + 1));
        }
        return build;
    }

    private static String whyNot() {
        if ("false".equalsIgnoreCase(System.getProperty(EXPECT_PROPERTY, "true").trim())) {
            return "-D" + EXPECT_PROPERTY + "=false (mvn -Pportable: the build left out the fast path's natives)";
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return "the fast path runs on Linux x86-64 only, this is " + os + "/" + arch;
        }
        if (!cpuHasAvx2AndFma()) {
            return "the CPU lacks AVX2 or FMA (/proc/cpuinfo)";
        }
        return null;
    }

    /** Whether /proc/cpuinfo lists avx2 and fma (false where there is no /proc/cpuinfo). */
    public static boolean cpuHasAvx2AndFma() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            for (String line : lines) {
                if (line.startsWith("flags")) {
                    String flags = " " + line.substring(line.indexOf(':') + 1).trim() + " ";
                    return flags.contains(" avx2 ") && flags.contains(" fma ");
                }
            }
            return false;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
