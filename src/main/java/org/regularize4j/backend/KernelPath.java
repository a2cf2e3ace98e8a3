package org.regularize4j.backend;

/**
 * The ways the ResNet builder's layers can run ({@link ConvBnKernels}, one implementation each). {@link KernelPaths}
 * chooses one per layer, once, when the layer is created.
 *
 * <ul>
 *   <li>{@link #CHANNELS_LAST}: activations NHWC inside the layers; convolutions by oneDNN through its public C API
 *       ({@link DirectConv}), batch norm, block output and shortcut by the native kernels ({@link NativeKernels}).
 *       Float only. The fast path: Linux x86-64 with AVX2 and the {@code org.bytedeco:dnnl} natives.</li>
 *   <li>{@link #JAVA_NCHW}: NCHW; convolutions by libnd4j's {@code conv2d}, batch norm and the rest in Java
 *       ({@link FloatBatchNorm}) on the calling thread. Float only; runs wherever ND4J's CPU backend runs.</li>
 *   <li>{@link #LIBND4J_NCHW}: NCHW, everything through libnd4j's ops ({@link NativeOps}). Any floating-point type
 *       (the path of double-precision gradient checks) and any ND4J backend; the reference of the others.</li>
 * </ul>
 *
 * <pre>{@code
 * KernelPath path = KernelPaths.choose(DataType.FLOAT);   // CHANNELS_LAST on Linux x86-64 with AVX2
 * }</pre>
 */
public enum KernelPath {
    /** NHWC, oneDNN convolutions and native kernels. */
    CHANNELS_LAST("channels-last"),
    /** NCHW, libnd4j convolutions, Java batch norm. */
    JAVA_NCHW("java"),
    /** NCHW, libnd4j for everything. */
    LIBND4J_NCHW("libnd4j");

    private final String id;

    KernelPath(String id) {
        this.id = id;
    }

    /** The name of the path in the system property {@code regularize4j.kernels} (e.g. {@code channels-last}). */
    public String id() {
        return id;
    }

    /** The path named {@code id} ({@link #id()}); IllegalArgumentException naming the allowed values otherwise. */
    public static KernelPath of(String id) {
        for (KernelPath p : values()) {
            if (p.id.equalsIgnoreCase(id.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("regularize4j.kernels must be auto, channels-last, java or libnd4j, got "
                + id);
    }
}
