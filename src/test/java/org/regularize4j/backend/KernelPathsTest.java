package org.regularize4j.backend;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.testutil.FastPath;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Each {@link KernelPath} as a unit, against one reference: the {@link KernelPath#LIBND4J_NCHW} kernels in double
 * precision on the same (float-representable) inputs. Every kernel of {@link ConvBnKernels} is run through the
 * path's own layout ({@link ConvBnKernels#toInner}/{@link ConvBnKernels#toOuter}) and compared in NCHW: float paths
 * to a relative error of 1e-4 (float32 sums over at most 2,304 values), the element-wise kernels exactly. A path
 * that cannot run here is skipped with the reason; where the fast path is expected it must run
 * ({@code loadsWhereExpected}).
 */
class KernelPathsTest {
    private static final LayerWorkspaceMgr MGR = LayerWorkspaceMgr.noWorkspaces();

    @AfterEach
    void reset() {
        KernelPaths.setOverride(null);
        DirectConv.setEnabled(true);
        NativeKernels.setEnabled(true);
    }

    /** Whether the path can run here; where the fast path is expected, channels-last must (else the test fails). */
    private static boolean canRun(KernelPath p) {
        if (p == KernelPath.CHANNELS_LAST && FastPath.expected()) {
            assertTrue(KernelPaths.channelsLastAvailable(), KernelPaths.whyNotChannelsLast());
        }
        return p != KernelPath.CHANNELS_LAST || KernelPaths.channelsLastAvailable();
    }

    private static INDArray in(ConvBnKernels k, INDArray nchw) {
        return k.toInner(nchw.castTo(DataType.FLOAT), DataType.FLOAT, ArrayType.FF_WORKING_MEM, MGR).dup('c');
    }

    private static INDArray out(ConvBnKernels k, INDArray inner) {
        return k.toOuter(inner).castTo(DataType.DOUBLE).dup('c');
    }

    private static INDArray like(ConvBnKernels k, long... nchw) {
        long[] shape = k.channelsLast() ? new long[] {nchw[0], nchw[2], nchw[3], nchw[1]} : nchw;
        return Nd4j.valueArrayOf(shape, Float.NaN, DataType.FLOAT);
    }

    private static void close(INDArray expected, INDArray actual, String what) {
        double scale = Math.max(1e-12, expected.amaxNumber().doubleValue());
        double err = expected.sub(actual.castTo(DataType.DOUBLE).reshape(expected.shape())).amaxNumber().doubleValue()
                / scale;
        assertTrue(err < 1e-4, what + ": relative error " + err);
    }

    private static INDArray randomFloat(long... shape) {
        return Nd4j.randn(DataType.FLOAT, shape).castTo(DataType.DOUBLE);   // float-representable doubles
    }

    @ParameterizedTest
    @EnumSource(KernelPath.class)
    void convolutionMatchesTheReference(KernelPath path) {
        assumeTrue(canRun(path), path + " cannot run here: " + KernelPaths.whyNotChannelsLast());
        ConvBnKernels k = KernelPaths.of(path);
        ConvBnKernels ref = KernelPaths.of(KernelPath.LIBND4J_NCHW);
        Nd4j.getRandom().setSeed(3);
        for (int[] c : new int[][] {{4, 16, 9, 32, 3, 1, 1}, {3, 8, 10, 16, 3, 2, 1}, {2, 32, 6, 64, 1, 2, 0},
                {5, 3, 11, 16, 3, 1, 1}}) {
            int n = c[0], cin = c[1], hw = c[2], cout = c[3], kernel = c[4], stride = c[5], pad = c[6];
            INDArray x = randomFloat(n, cin, hw, hw);
            INDArray w = randomFloat(cout, cin, kernel, kernel).muli(0.1);
            String what = path + " " + Arrays.toString(c);
            try (ConvBnKernels.Convolution rc = ref.convolution(kernel, stride, pad);
                 ConvBnKernels.Convolution kc = k.convolution(kernel, stride, pad)) {
                long[] ys = rc.outShape(x, cout);
                INDArray y = Nd4j.create(DataType.DOUBLE, ys);
                rc.forward(x, w, y);
                INDArray dy = randomFloat(ys);
                INDArray dx = x.ulike();
                INDArray dw = w.ulike();
                rc.backward(x, w, dy, dx, dw);

                INDArray xi = in(k, x);
                INDArray wf = w.castTo(DataType.FLOAT);
                INDArray yi = Nd4j.create(DataType.FLOAT, kc.outShape(xi, cout));
                kc.forward(xi, wf, yi);
                close(y, out(k, yi), what + " forward");
                INDArray dxi = xi.ulike();
                INDArray dwf = wf.ulike();
                kc.backward(xi, wf, in(k, dy), dxi, dwf);
                close(dx, out(k, dxi), what + " input gradient");
                close(dw, dwf, what + " weight gradient");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KernelPath.class)
    void batchNormMatchesTheReference(KernelPath path) {
        assumeTrue(canRun(path), path + " cannot run here: " + KernelPaths.whyNotChannelsLast());
        ConvBnKernels k = KernelPaths.of(path);
        ConvBnKernels ref = KernelPaths.of(KernelPath.LIBND4J_NCHW);
        Nd4j.getRandom().setSeed(5);
        int n = 6;
        int c = 24;
        int hw = 7;
        INDArray x = randomFloat(n, c, hw, hw).muli(2).addi(0.5);
        INDArray gamma = Nd4j.rand(DataType.FLOAT, c).addi(0.5).castTo(DataType.DOUBLE);
        INDArray beta = randomFloat(c);
        INDArray dy = randomFloat(n, c, hw, hw);
        float[] rows = {1.25f, 0f, 1.25f, 1.25f, 0f, 1.25f};
        for (boolean relu : new boolean[] {true, false}) {
            for (float[] exampleScales : new float[][] {null, rows}) {
                double dyScale = exampleScales == null ? 1 / 0.7 : 1.0;
                String what = path + " relu=" + relu + " scales=" + Arrays.toString(exampleScales);
                double[] m = new double[c];
                double[] v = new double[c];
                INDArray y = x.ulike();
                ref.batchNormTraining(x, gamma, beta, 1e-5, relu, y, m, v);
                INDArray dx = x.ulike();
                INDArray dg = gamma.ulike();
                INDArray db = gamma.ulike();
                ref.batchNormBackward(x, y, relu, dy, dyScale, exampleScales, m, v, gamma, 1e-5, dx, dg, db, MGR);
                INDArray yInf = x.ulike();
                ref.batchNormInference(x, m, v, gamma, beta, 1e-5, relu, yInf);

                INDArray xi = in(k, x);
                INDArray gf = gamma.castTo(DataType.FLOAT);
                INDArray bf = beta.castTo(DataType.FLOAT);
                double[] mk = new double[c];
                double[] vk = new double[c];
                INDArray yi = xi.ulike();
                k.batchNormTraining(xi, gf, bf, 1e-5, relu, yi, mk, vk);
                close(Nd4j.createFromArray(m), Nd4j.createFromArray(mk), what + " mean");
                close(Nd4j.createFromArray(v), Nd4j.createFromArray(vk), what + " variance");
                close(y, out(k, yi), what + " output");
                INDArray dyi = in(k, dy);
                INDArray dyCopy = dyi.dup();
                INDArray dxi = xi.ulike();
                INDArray dgf = gf.ulike();
                INDArray dbf = gf.ulike();
                k.batchNormBackward(xi, yi, relu, dyi, dyScale, exampleScales, mk, vk, gf, 1e-5, dxi, dgf, dbf, MGR);
                assertEquals(dyCopy, dyi, what + ": the output gradient is never written");
                close(dx, out(k, dxi), what + " dx");
                close(dg, dgf, what + " dGamma");
                close(db, dbf, what + " dBeta");
                INDArray yInfI = xi.ulike();
                k.batchNormInference(xi, mk, vk, gf, bf, 1e-5, relu, yInfI);
                close(yInf, out(k, yInfI), what + " inference");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KernelPath.class)
    void blockKernelsMatchTheReferenceExactly(KernelPath path) {
        assumeTrue(canRun(path), path + " cannot run here: " + KernelPaths.whyNotChannelsLast());
        ConvBnKernels k = KernelPaths.of(path);
        ConvBnKernels ref = KernelPaths.of(KernelPath.LIBND4J_NCHW);
        Nd4j.getRandom().setSeed(9);
        INDArray branch = Nd4j.randn(DataType.FLOAT, 5, 8, 6, 6);
        INDArray shortcut = Nd4j.randn(DataType.FLOAT, 5, 8, 6, 6);
        for (float[] scales : new float[][] {null, {2f, 0f, 1.5f, 0.25f, 3f}}) {
            INDArray expected = branch.ulike();
            ref.blockOutput(branch, scales, shortcut, expected);
            INDArray o = like(k, 5, 8, 6, 6);
            k.blockOutput(in(k, branch), scales, in(k, shortcut), o);
            assertEquals(expected.castTo(DataType.DOUBLE), out(k, o), path + " block output " + Arrays.toString(scales));
        }
        INDArray relu = branch.ulike();
        ref.relu(branch, relu);
        INDArray ri = like(k, 5, 8, 6, 6);
        k.relu(in(k, branch), ri);
        assertEquals(relu.castTo(DataType.DOUBLE), out(k, ri), path + " relu");
        INDArray dRef = ref.reluBackward(relu, shortcut, shortcut.ulike());
        INDArray dk = k.reluBackward(in(k, relu), in(k, shortcut), like(k, 5, 8, 6, 6));
        assertEquals(dRef.castTo(DataType.DOUBLE), out(k, dk), path + " relu backward");
        INDArray sum = branch.ulike();
        ref.add(branch, shortcut, sum);
        INDArray si = in(k, branch);
        k.add(si, in(k, shortcut), si);
        assertEquals(sum.castTo(DataType.DOUBLE), out(k, si), path + " add in place");
        INDArray copy = like(k, 5, 8, 6, 6);
        k.copy(in(k, branch), copy);
        assertEquals(branch.castTo(DataType.DOUBLE), out(k, copy), path + " copy");
        k.zero(copy);
        assertEquals(0.0, copy.amaxNumber().doubleValue(), 0.0, path + " zero");
        for (int stride : new int[] {1, 2}) {
            long ho = (6 + stride - 1) / stride;
            INDArray sc = Nd4j.create(DataType.FLOAT, 5, 16, ho, ho);
            ref.zeroPadShortcut(branch, stride, 4, sc);
            INDArray sci = like(k, 5, 16, ho, ho);
            k.zeroPadShortcut(in(k, branch), stride, 4, sci);
            assertEquals(sc.castTo(DataType.DOUBLE), out(k, sci), path + " zero-padded shortcut, stride " + stride);
            INDArray d = Nd4j.randn(DataType.FLOAT, 5, 16, ho, ho);
            for (boolean accumulate : new boolean[] {false, true}) {
                INDArray dx = Nd4j.ones(DataType.FLOAT, 5, 8, 6, 6);
                ref.zeroPadShortcutBackward(d, stride, 4, dx, accumulate);
                INDArray dxi = in(k, Nd4j.ones(DataType.FLOAT, 5, 8, 6, 6));
                k.zeroPadShortcutBackward(in(k, d), stride, 4, dxi, accumulate);
                assertEquals(dx.castTo(DataType.DOUBLE), out(k, dxi), path + " shortcut backward " + accumulate);
            }
        }
    }

    @Test
    void inferenceChunksAreBalancedAndBounded() {
        long saved = KernelPaths.inferenceChunkBytes();
        try {
            assertEquals(KernelPaths.DEFAULT_CHUNK_BYTES, saved, "the default unless the system property is set");
            KernelPaths.setInferenceChunkBytes(2L << 20);
            assertEquals(32, KernelPaths.inferenceChunkRows(256, 16 * 32 * 32 * 4));   // ResNet-20's first stage
            assertEquals(128, KernelPaths.inferenceChunkRows(256, 64 * 8 * 8 * 4));
            assertEquals(25, KernelPaths.inferenceChunkRows(100, 64 * 1024), "4 chunks of 25, not 3 x 32 + 4");
            assertEquals(100, KernelPaths.inferenceChunkRows(100, 16 * 1024), "the batch fits in one chunk");
            assertEquals(32, KernelPaths.inferenceChunkRows(32, 64 * 56 * 56 * 4),
                    "fewer than MIN_CHUNK_ROWS examples per chunk: the whole batch");
            assertEquals(1, KernelPaths.inferenceChunkRows(1, 1 << 30));
            for (long batch = 1; batch <= 300; batch++) {   // chunks cover the batch, none empty, none over budget
                long rows = KernelPaths.inferenceChunkRows(batch, 40_000);
                long chunks = (batch + rows - 1) / rows;
                assertTrue(rows >= 1 && rows <= batch && (chunks - 1) * rows < batch, "batch " + batch);
                assertTrue(rows == batch ? batch * 40_000L <= (2L << 20) || (2L << 20) / 40_000 < 16
                        : rows * 40_000L <= (2L << 20), "batch " + batch + ": " + rows + " rows");
            }
            KernelPaths.setInferenceChunkBytes(0);
            assertEquals(256, KernelPaths.inferenceChunkRows(256, 64), "0: off");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> KernelPaths.setInferenceChunkBytes(-1));
            assertTrue(e.getMessage().contains("inference chunk bytes must be >= 0"), e.getMessage());
            assertEquals(KernelPaths.DEFAULT_RECOMPUTE_MIN_BYTES, KernelPaths.recomputeMinBytes());
            e = assertThrows(IllegalArgumentException.class, () -> KernelPaths.setRecomputeMinBytes(-1));
            assertTrue(e.getMessage().contains("recompute min bytes must be >= 0"), e.getMessage());
        } finally {
            KernelPaths.setInferenceChunkBytes(saved);
        }
    }

    @Test
    void layoutRoundTripsAndNamesParse() {
        for (KernelPath p : KernelPath.values()) {
            assertEquals(p, KernelPath.of(p.id()));
            assertEquals(p, KernelPaths.of(p).path());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KernelPath.of("fast"));
        assertEquals("regularize4j.kernels must be auto, channels-last, java or libnd4j, got fast", e.getMessage());
        ConvBnKernels nchw = KernelPaths.of(KernelPath.JAVA_NCHW);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 4, 5);
        assertEquals(x, nchw.toOuter(nchw.toInner(x, DataType.FLOAT, ArrayType.FF_WORKING_MEM, MGR)));
        if (KernelPaths.channelsLastAvailable()) {
            ConvBnKernels cl = KernelPaths.of(KernelPath.CHANNELS_LAST);
            INDArray inner = cl.toInner(x, DataType.FLOAT, ArrayType.FF_WORKING_MEM, MGR);
            assertEquals(List4.of(2, 4, 5, 3), List4.of(inner.shape()));
            INDArray view = cl.toOuter(inner);
            assertEquals(x, view);
            assertEquals(NativeKernels.address(inner), NativeKernels.address(cl.toInner(view, DataType.FLOAT,
                    ArrayType.FF_WORKING_MEM, MGR)), "a channels-last view is taken as it is, not copied");
        }
    }

    /** Shapes as lists, for messages. */
    private static final class List4 {
        static java.util.List<Long> of(long... v) {
            return Arrays.stream(v).boxed().collect(java.util.stream.Collectors.toList());
        }
    }

    @Test
    void chooseFollowsTypeOverrideAndAvailability() {
        assertEquals(KernelPath.LIBND4J_NCHW, KernelPaths.choose(DataType.DOUBLE));
        KernelPaths.setOverride(KernelPath.JAVA_NCHW);
        assertEquals(KernelPath.JAVA_NCHW, KernelPaths.choose(DataType.FLOAT));
        assertEquals(KernelPath.LIBND4J_NCHW, KernelPaths.choose(DataType.DOUBLE), "double ignores the override");
        assertTrue(KernelPaths.describe().startsWith("java (forced)"), KernelPaths.describe());
        KernelPaths.setOverride(KernelPath.LIBND4J_NCHW);
        assertEquals(KernelPath.LIBND4J_NCHW, KernelPaths.choose(DataType.FLOAT));
        KernelPaths.setOverride(null);
        assertEquals(KernelPaths.channelsLastAvailable() ? KernelPath.CHANNELS_LAST : KernelPath.JAVA_NCHW,
                KernelPaths.choose(DataType.FLOAT));
        DirectConv.setEnabled(false);   // the user turns the fast path off: the java path, and a reason
        assertEquals(KernelPath.JAVA_NCHW, KernelPaths.choose(DataType.FLOAT));
        assertNotNull(KernelPaths.whyNotChannelsLast());
        KernelPaths.setOverride(KernelPath.CHANNELS_LAST);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> KernelPaths.choose(DataType.FLOAT));
        assertTrue(e.getMessage().startsWith("regularize4j.kernels asks for the channels-last path, which cannot run"
                + " here: "), e.getMessage());
    }

    /** On Linux x86-64 with AVX2 and FMA (and not in the portable build), the fast path must be there. */
    @Test
    void loadsWhereExpected() {
        assumeTrue(FastPath.expected(), "the channels-last path is not expected here: " + FastPath.whyNotExpected());
        assertTrue(KernelPaths.channelsLastAvailable(), KernelPaths.whyNotChannelsLast());
        assertNull(KernelPaths.whyNotChannelsLast());
        assertEquals(KernelPath.CHANNELS_LAST, KernelPaths.choose(DataType.FLOAT));
        assertTrue(DirectConv.status().startsWith("oneDNN 2."), DirectConv.status());
        assertTrue(KernelPaths.describe().startsWith("channels-last (oneDNN 2."), KernelPaths.describe());
    }

    /** Where the fast path cannot run, float layers take the java path and say why. */
    @Test
    void fallsBackWithAReasonWhereNotExpected() {
        assumeTrue(!KernelPaths.channelsLastAvailable(), "the channels-last path runs here");
        assertEquals(KernelPath.JAVA_NCHW, KernelPaths.choose(DataType.FLOAT));
        assertTrue(KernelPaths.describe().startsWith("java ("), KernelPaths.describe());
        assertTrue(KernelPaths.hint().length() > 20, KernelPaths.hint());
    }

    /**
     * The native library's loader never crashes, whatever file it is given: a truncated copy of the real library, a
     * file that is not ELF, and an ELF library without our functions each give a clean "not loaded: ..." (and nothing
     * is registered from them).
     */
    @Test
    void aBadLibraryFileIsRefusedCleanly(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        assumeTrue(System.getProperty("os.name", "").toLowerCase().contains("linux"), "ELF files: Linux only");
        java.net.URL real = NativeKernels.class.getResource("/org/regularize4j/native/linux-x86_64/libr4jkernels.so");
        assumeTrue(real != null, "the bundled library is not on this build's classpath");
        byte[] bytes;
        try (java.io.InputStream s = real.openStream()) {
            bytes = s.readAllBytes();
        }
        Path truncated = Files.write(dir.resolve("truncated.so"), Arrays.copyOf(bytes, 1000));
        Path text = Files.writeString(dir.resolve("text.so"), "not an ELF file\n".repeat(8));
        Path empty = Files.write(dir.resolve("empty.so"), new byte[0]);
        byte[] class32 = bytes.clone();
        class32[4] = 1;   // ELFCLASS32
        Path wrongClass = Files.write(dir.resolve("class32.so"), class32);
        byte[] farHeaders = bytes.clone();
        farHeaders[32 + 3] = 0x7f;   // e_phoff far beyond the end of the file
        Path badOffsets = Files.write(dir.resolve("offsets.so"), farHeaders);
        String javaLib = System.getProperty("java.home") + "/lib/libjava.so";   // an ELF library without our symbols
        assumeTrue(new File(javaLib).isFile(), javaLib);
        String[] reasons = {"segment", "not an ELF file", "too short", "not a 64-bit ELF file",
                "program headers outside the file"};
        Path[] files = {truncated, text, empty, wrongClass, badOffsets};
        for (int i = 0; i < files.length; i++) {
            String why = NativeKernels.probe(files[i].toFile());
            assertNotNull(why, files[i].toString());
            assertTrue(why.startsWith("not loaded: " + files[i] + " is not a loadable shared library (" + reasons[i]),
                    why);
        }
        String why = NativeKernels.probe(new File(javaLib));
        assertEquals("not loaded: " + javaLib + " has no function", why.substring(0, why.lastIndexOf(' ')));
        // the real file passes (where it can load at all)
        assumeTrue(NativeKernels.isLoaded(), NativeKernels.status());
        Path good = Files.write(dir.resolve("good.so"), bytes);
        assertNull(NativeKernels.probe(good.toFile()));
    }
}
