package org.regularize4j.testutil;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOps;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Runs a test class with one native thread (ND4J's pool, OpenMP, BLAS) and restores the settings afterwards.
 * The tests' arrays are tiny, so one thread is as fast; and on a shared 2-core machine whose other core is busy,
 * OpenMP's spin-waits made the gradient checks and the sparsity test ten to twenty times slower.
 */
public final class SingleThreadedNd4j implements BeforeAllCallback, AfterAllCallback {
    private int threads;
    private int masterThreads;
    private int ompThreads;
    private int blasThreads;

    @Override
    public void beforeAll(ExtensionContext context) {
        threads = Nd4j.getEnvironment().maxThreads();   // first: loads the backend that NativeOpsHolder needs
        NativeOps ops = NativeOpsHolder.getInstance().getDeviceNativeOps();
        masterThreads = Nd4j.getEnvironment().maxMasterThreads();
        ompThreads = ops.ompGetMaxThreads();
        blasThreads = Nd4j.factory().blas().getMaxThreads();
        Nd4j.getEnvironment().setMaxThreads(1);
        Nd4j.getEnvironment().setMaxMasterThreads(1);
        ops.setOmpNumThreads(1);
        Nd4j.factory().blas().setMaxThreads(1);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(masterThreads);
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(ompThreads);
        Nd4j.factory().blas().setMaxThreads(blasThreads);
    }
}
