package org.regularize4j.testutil;

import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The build puts the fast path's natives on the test class path exactly where {@link FastPath} expects them:
 * {@code mvn -Pportable} leaves out all three (ND4J's oneDNN build, oneDNN's natives from dnnl-platform, the bundled
 * libr4jkernels.so), the default build on Linux x86-64 has all three.
 */
class FastPathTest {

    /** The fast path's natives for this platform, as class-path resources (directories or files). */
    private static Map<String, String> natives() {
        String platform = Loader.getPlatform();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("ND4J's oneDNN build", "org/nd4j/linalg/cpu/nativecpu/bindings/" + platform + "-onednn-avx2/");
        m.put("oneDNN's natives (dnnl-platform)", "org/bytedeco/dnnl/" + platform + "/");
        m.put("the bundled native kernels", "org/regularize4j/native/linux-x86_64/libr4jkernels.so");
        return m;
    }

    private static URL find(String resource) {
        return FastPathTest.class.getClassLoader().getResource(resource);
    }

    @Test
    void portableBuildLeavesOutTheFastPathsNatives() {
        assumeTrue("false".equals(System.getProperty(FastPath.EXPECT_PROPERTY)),
                "a check of mvn -Pportable, which sets -D" + FastPath.EXPECT_PROPERTY + "=false");
        assertFalse(FastPath.expected());
        for (Map.Entry<String, String> e : natives().entrySet()) {
            assertNull(find(e.getValue()), e.getKey() + " on the class path of -Pportable: " + find(e.getValue()));
        }
        String build = FastPath.expectedNd4jBuild();
        assertNotNull(build, "the build says which ND4J build it put on the class path");
        assertFalse(build.contains("onednn"), build);
    }

    @Test
    void defaultBuildOnLinuxX86HasTheFastPathsNatives() {
        assumeTrue(FastPath.expected(), "the fast path is not expected here: " + FastPath.whyNotExpected());
        assumeTrue(System.getProperty(FastPath.BUILD_PROPERTY) != null, "run outside this project's Maven build");
        assertEquals("linux-x86_64-onednn-avx2", FastPath.expectedNd4jBuild(), "the build's ND4J classifier");
        for (Map.Entry<String, String> e : natives().entrySet()) {
            assertNotNull(find(e.getValue()), e.getKey() + " missing from the class path: " + e.getValue());
        }
    }
}
