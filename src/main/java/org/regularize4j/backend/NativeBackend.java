package org.regularize4j.backend;

import org.bytedeco.javacpp.Loader;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * Which ND4J native build is loaded and whether the fast (oneDNN) kernels are in use: what
 * {@code regularize4j train} and {@code bench} print first, and what a test asserts on this machine.
 *
 * <pre>{@code
 * NativeBackend b = NativeBackend.current();
 * String build = b.nativeBuild();          // e.g. "linux-x86_64-onednn-avx2"
 * boolean fast = b.oneDnnEnabled();        // oneDNN kernels available and allowed
 * }</pre>
 */
public final class NativeBackend {
    private static volatile NativeBackend current;

    private final String backendName;
    private final String nativeBuild;
    private final boolean oneDnnCompiledIn;
    private final boolean oneDnnEnabled;

    private NativeBackend(String backendName, String nativeBuild, boolean oneDnnCompiledIn, boolean oneDnnEnabled) {
        this.backendName = backendName;
        this.nativeBuild = nativeBuild;
        this.oneDnnCompiledIn = oneDnnCompiledIn;
        this.oneDnnEnabled = oneDnnEnabled;
    }

    /** Inspects the loaded backend (once; cheap afterwards). */
    public static NativeBackend current() {
        NativeBackend b = current;
        if (b == null) {
            synchronized (NativeBackend.class) {
                if (current == null) {
                    current = inspect();
                }
                b = current;
            }
        }
        return b;
    }

    private static NativeBackend inspect() {
        String backend = Nd4j.getBackend().getClass().getSimpleName();
        String build = "unknown";
        boolean compiled = false;
        boolean enabled = false;
        try {
            Class<?> cpu = Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu");
            Loader.load(cpu);
            for (Map.Entry<String, String> e : Loader.getLoadedLibraries().entrySet()) {
                String path = e.getValue();
                if (path != null && path.contains("libnd4jcpu")) {
                    int i = path.indexOf("/bindings/");
                    build = i < 0 ? path : path.substring(i + "/bindings/".length(), path.indexOf('/', i + 10));
                }
            }
            String info = Nd4j.getExecutioner().getEnvironmentInformation().toString()
                    + " " + buildInformation();
            compiled = info.contains("HAVE_ONEDNN") || build.contains("onednn");
            enabled = compiled && Nd4j.getEnvironment().helpersAllowed() && useOneDnn();
        } catch (ClassNotFoundException e) {
            build = "non-CPU backend";
        }
        return new NativeBackend(backend, build, compiled, enabled);
    }

    private static String buildInformation() {
        try {
            return String.valueOf(Nd4j.getExecutioner().getClass().getMethod("getBuildInformation")
                    .invoke(Nd4j.getExecutioner()));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "";
        }
    }

    private static boolean useOneDnn() {
        try {
            return org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu.Environment.getInstance().isUseONEDNN();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** ND4J backend class, e.g. {@code CpuBackend}. */
    public String backendName() {
        return backendName;
    }

    /** The nd4j-native classifier whose libnd4j is loaded, e.g. {@code linux-x86_64-onednn-avx2}. */
    public String nativeBuild() {
        return nativeBuild;
    }

    /** Whether the loaded libnd4j was built with oneDNN. */
    public boolean oneDnnCompiledIn() {
        return oneDnnCompiledIn;
    }

    /** Whether oneDNN kernels are compiled in and allowed (float32 ops then run on them). */
    public boolean oneDnnEnabled() {
        return oneDnnEnabled;
    }

    /**
     * One line for logs: backend, native build, libnd4j's oneDNN state, and the path the ResNet builder's float layers
     * take ({@link KernelPaths#describe()}).
     */
    public String describe() {
        return backendName + ", native build " + nativeBuild + ", libnd4j's oneDNN "
                + (oneDnnEnabled ? "enabled" : oneDnnCompiledIn ? "compiled in but disabled" : "not in this build")
                + "; ResNet layers: " + KernelPaths.describe();
    }

    @Override
    public String toString() {
        return describe();
    }
}
