package org.regularize4j.dropout;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.depth.DropDecisions;
import org.regularize4j.util.Checks;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * DropBlock's mask as a pure function of the configuration, the activation shape and the coordinates
 * (seed, iteration, epoch, stream index): timm's {@code drop_block_2d} and {@code drop_block_fast_2d}.
 *
 * <ul>
 *   <li>Block size {@code k = min(blockSize, H, W)}; seed rate
 *       {@code γ = gammaScale · dropProb · H·W / k² / ((H − k + 1)(W − k + 1))}, the DropBlock paper's γ: one
 *       seed drops k² activations and there are (H − k + 1)(W − k + 1) places where a whole block fits, so
 *       γ·k²·(places)/(H·W) = gammaScale·dropProb to first order (overlapping blocks make the exact share a
 *       little smaller). timm up to 1.0.22 put the unclipped blockSize in the second denominator, which is 0
 *       or negative when the block is larger than the map; the clipped k (as timm now does) keeps γ finite.
 *       γ above 1 is taken as 1.</li>
 *   <li>Every (example, channel) plane has its own seeds, each place independently with probability γ
 *       (timm draws {@code rand_like(x)}); with {@code batchwise} all examples share one set of planes.</li>
 *   <li>Default: seeds only where a whole block fits (timm's {@code valid_block}); {@code fast}: seeds
 *       anywhere, blocks clipped at the border. A seed at (y, x) drops rows {@code y − k/2 .. y − k/2 + k − 1}
 *       (integer division) and the same columns, which is timm's max-pooling with padding k/2 for odd k and
 *       its corrected crop for even k.</li>
 *   <li>Kept activations are multiplied by {@code numel / kept} over the whole array; when nothing is kept
 *       the mask is all zeros (timm adds 1e-7 to the denominator for the same reason).</li>
 * </ul>
 *
 * <p>The seeds come from one {@link SplittableRandom} per mask, seeded with
 * {@link DropDecisions#hash}(seed, iteration, epoch, streamIndex, ·), salted so that they never coincide with the
 * stochastic-depth decisions of the same coordinates, and run over the places of every (example, channel) plane in
 * that order, whatever the layout. The gaps between seeds are drawn as geometric variates, so a mask costs one draw
 * per seed rather than one per place, and {@link #dropped} lists the dropped activations without a pass over the
 * whole array.
 *
 * <pre>{@code
 * DropBlock conf = new DropBlock(0.1, 3);
 * INDArray mask = DropBlockMask.create(conf, 0.1, new long[] {2, 4, 8, 8}, false, 42L, 0, 0, 0,
 *         DataType.FLOAT);   // 0 where dropped, numel / kept elsewhere
 * }</pre>
 */
public final class DropBlockMask {
    /** Separates DropBlock's coordinates from the stochastic-depth decisions' (same hash, other seed). */
    private static final long SALT = 0x44726F70426C6BL;   // "DropBlk"

    private DropBlockMask() {
    }

    /** The block side actually used: {@code min(blockSize, height, width)}. */
    public static int clippedBlockSize(int blockSize, long height, long width) {
        Checks.atLeast("blockSize", blockSize, 1);
        return (int) Math.min(blockSize, Math.min(height, width));
    }

    /**
     * The seed rate γ (before capping at 1) for a {@code height x width} map.
     *
     * @param dropProb   target share of dropped activations, in [0, 1]
     * @param blockSize  block side, {@code >= 1} (clipped to the map)
     * @param gammaScale multiplier of γ, finite and {@code >= 0}
     */
    public static double gamma(double dropProb, int blockSize, double gammaScale, long height, long width) {
        Checks.probability("dropProb", dropProb);
        Checks.nonNegative("gammaScale", gammaScale);
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("height and width must be >= 1, got " + height + "x" + width);
        }
        int k = clippedBlockSize(blockSize, height, width);
        return gammaScale * dropProb * height * width / ((double) k * k)
                / ((double) (height - k + 1) * (width - k + 1));
    }

    /**
     * The scaled mask for activations of {@code shape}: a new 'c'-ordered array (outside any workspace) of the
     * same shape holding 0 for dropped activations and {@code numel / kept} for kept ones.
     *
     * @param conf         block size, gamma scale, fast and batchwise (its drop probability is not used)
     * @param dropProb     the drop probability of this pass, in [0, 1]
     * @param shape        {@code [n, c, h, w]}, or {@code [n, h, w, c]} when {@code channelsLast}
     * @param channelsLast whether the activations are NHWC
     * @param dataType     floating-point type of the result
     */
    public static INDArray create(DropBlock conf, double dropProb, long[] shape, boolean channelsLast, long seed,
                                  long iteration, long epoch, long streamIndex, DataType dataType) {
        Checks.notNull("conf", conf);
        Checks.notNull("shape", shape);
        if (shape.length != 4) {
            throw new IllegalArgumentException("shape must have 4 dimensions, got " + Arrays.toString(shape));
        }
        float[] m = keep(conf, dropProb, shape, channelsLast, seed, iteration, epoch, streamIndex);
        long kept = 0;
        for (float v : m) {
            kept += v != 0f ? 1 : 0;
        }
        float scale = (float) scale(m.length, m.length - kept);
        for (int i = 0; i < m.length; i++) {
            m[i] *= scale;
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray f = Nd4j.create(m, shape, 'c');
            return dataType == DataType.FLOAT ? f : f.castTo(dataType);
        }
    }

    /** The multiplier of the kept activations: {@code numel / (numel − dropped)}, 0 when nothing is kept. */
    public static double scale(long numel, long dropped) {
        return dropped >= numel ? 0.0 : (double) numel / (numel - dropped);
    }

    /**
     * The unscaled keep mask (1 kept, 0 dropped) in the 'c' order of {@code shape}: what {@link #create} scales.
     */
    public static float[] keep(DropBlock conf, double dropProb, long[] shape, boolean channelsLast, long seed,
                               long iteration, long epoch, long streamIndex) {
        int[] dropped = dropped(conf, dropProb, shape, channelsLast, seed, iteration, epoch, streamIndex);
        float[] m = new float[(int) numel(shape)];
        Arrays.fill(m, 1f);
        for (int i : dropped) {
            m[i] = 0f;
        }
        return m;
    }

    /**
     * The dropped activations as distinct 'c'-order indices into an array of {@code shape} (in no particular
     * order): the zeros of {@link #keep}.
     */
    public static int[] dropped(DropBlock conf, double dropProb, long[] shape, boolean channelsLast, long seed,
                                long iteration, long epoch, long streamIndex) {
        return blocks(conf, dropProb, shape, channelsLast, seed, iteration, epoch, streamIndex).indices();
    }

    /**
     * The dropped blocks of a mask as rectangles, with the exact number of activations they drop (overlaps counted
     * once): what {@link #keep} and {@link #dropped} expand. Costs one random draw per block seed and no pass over
     * the whole array; the residual blocks of the ResNet builder apply DropBlock from it, writing only the zeros.
     */
    public static Blocks blocks(DropBlock conf, double dropProb, long[] shape, boolean channelsLast, long seed,
                                long iteration, long epoch, long streamIndex) {
        Checks.notNull("conf", conf);
        Checks.probability("dropProb", dropProb);
        numel(shape);
        int n = (int) shape[0];
        int c = (int) (channelsLast ? shape[3] : shape[1]);
        int h = (int) (channelsLast ? shape[1] : shape[2]);
        int w = (int) (channelsLast ? shape[2] : shape[3]);
        int examples = conf.isBatchwise() ? 1 : n;
        if (dropProb == 0.0) {
            return new Blocks(n, c, h, w, channelsLast, examples, 0);
        }
        int k = clippedBlockSize(conf.getBlockSize(), h, w);
        double gamma = Math.min(1.0, gamma(dropProb, conf.getBlockSize(), conf.getGammaScale(), h, w));
        boolean fast = conf.isFast();
        int rows = fast ? h : h - k + 1;
        int cols = fast ? w : w - k + 1;
        int shift = fast ? k / 2 : 0;
        long places = (long) rows * cols;
        long total = places * examples * c;
        double expected = gamma * total;   // room for the expected seeds and 5 standard deviations more
        Blocks out = new Blocks(n, c, h, w, channelsLast, examples,
                (int) Math.min(total, (long) (expected + 5 * Math.sqrt(expected) + 16)));
        // one stream of seeds over every (example, channel, place) in that order: each place independently a seed
        // with probability gamma, whatever the layout
        SplittableRandom rng = new SplittableRandom(DropDecisions.hash(seed ^ SALT, iteration, epoch, streamIndex,
                examples));
        double logKeep = Math.log1p(-gamma);
        long[] bits = new long[(h * w + 63) >>> 6];
        int plane = -1;
        long planeEnd = 0;   // the first place after the current plane
        int planeStart = 0;
        for (long pos = nextSeed(rng, gamma, logKeep, -1, total); pos < total;
             pos = nextSeed(rng, gamma, logKeep, pos, total)) {
            if (pos >= planeEnd) {   // seeds come in order: move on to pos's plane without a division per seed
                out.countPlane(planeStart, bits);
                plane = (int) (pos / places);
                planeEnd = (plane + 1) * places;
                planeStart = out.count;
            }
            int at = (int) (pos - (planeEnd - places));
            int top = at / cols - shift;
            int left = at - (at / cols) * cols - shift;
            out.add(plane, Math.max(0, top), Math.min(h, top + k), Math.max(0, left), Math.min(w, left + k));
        }
        out.countPlane(planeStart, bits);
        return out;
    }

    /**
     * A mask's dropped rectangles: per rectangle its plane (example · channels + channel; with a batchwise mask the
     * planes of the first example, repeated for every example) and its rows and columns, half-open and clipped to
     * the map.
     *
     * <pre>{@code
     * DropBlockMask.Blocks blocks = DropBlockMask.blocks(new DropBlock(0.1, 3), 0.1, new long[] {2, 4, 8, 8}, false,
     *         42L, 0, 0, 0);
     * double scale = blocks.scale();               // numel / kept: the multiplier of the kept activations
     * java.nio.FloatBuffer activations = java.nio.FloatBuffer.allocate(2 * 4 * 8 * 8);
     * blocks.zero(activations);                    // zeros exactly where the dense mask has them
     * }</pre>
     */
    public static final class Blocks {
        private final int n;
        private final int c;
        private final int h;
        private final int w;
        private final boolean channelsLast;
        private final int examples;
        private int[] rects;
        private int count;
        private long droppedPerCopy;
        private int[] rowTable;

        private Blocks(int n, int c, int h, int w, boolean channelsLast, int examples, int capacity) {
            this.rects = new int[5 * Math.max(1, capacity)];
            this.n = n;
            this.c = c;
            this.h = h;
            this.w = w;
            this.channelsLast = channelsLast;
            this.examples = examples;
        }

        private void add(int plane, int y0, int y1, int x0, int x1) {
            if (5 * count + 5 > rects.length) {
                rects = Arrays.copyOf(rects, rects.length * 2);
            }
            int r = 5 * count++;
            rects[r] = plane;
            rects[r + 1] = y0;
            rects[r + 2] = y1;
            rects[r + 3] = x0;
            rects[r + 4] = x1;
        }

        /** Adds the dropped count of the plane whose rectangles start at {@code from}: overlaps counted once. */
        private void countPlane(int from, long[] bits) {
            if (count - from == 1) {
                int r = 5 * from;
                droppedPerCopy += (long) (rects[r + 2] - rects[r + 1]) * (rects[r + 4] - rects[r + 3]);
            } else if (count - from > 1) {
                if (count - from <= 8 && disjoint(from)) {   // the usual case: no overlap, the areas add up
                    for (int j = from; j < count; j++) {
                        int r = 5 * j;
                        droppedPerCopy += (long) (rects[r + 2] - rects[r + 1]) * (rects[r + 4] - rects[r + 3]);
                    }
                    return;
                }
                Arrays.fill(bits, 0L);
                for (int j = from; j < count; j++) {
                    int r = 5 * j;
                    for (int y = rects[r + 1]; y < rects[r + 2]; y++) {
                        for (int x = rects[r + 3]; x < rects[r + 4]; x++) {
                            int i = y * w + x;
                            long bit = 1L << i;
                            if ((bits[i >>> 6] & bit) == 0) {
                                bits[i >>> 6] |= bit;
                                droppedPerCopy++;
                            }
                        }
                    }
                }
            }
        }

        /** Whether the rectangles from {@code from} on (one plane's) are pairwise disjoint. */
        private boolean disjoint(int from) {
            for (int i = from; i < count; i++) {
                int a = 5 * i;
                for (int j = i + 1; j < count; j++) {
                    int b = 5 * j;
                    if (rects[a + 1] < rects[b + 2] && rects[b + 1] < rects[a + 2] && rects[a + 3] < rects[b + 4]
                            && rects[b + 3] < rects[a + 4]) {
                        return false;
                    }
                }
            }
            return true;
        }

        /** Number of rectangles (of one example's planes when the mask is batchwise). */
        public int rectangles() {
            return count;
        }

        /** Number of indices {@link #forEachIndex} visits: the rectangles' areas summed over every example. */
        public long visits() {
            long area = 0;
            for (int j = 0; j < count; j++) {
                int r = 5 * j;
                area += (long) (rects[r + 2] - rects[r + 1]) * (rects[r + 4] - rects[r + 3]);
            }
            return area * (n / examples);
        }

        /** Number of dropped activations in the whole array, overlaps counted once. */
        public long droppedCount() {
            return droppedPerCopy * (n / examples);
        }

        /** The multiplier of the kept activations, {@link DropBlockMask#scale}. */
        public double scale() {
            return DropBlockMask.scale((long) n * c * h * w, droppedCount());
        }

        /** Calls {@code action} with the 'c'-order index of every dropped activation (an overlapped one more than once). */
        public void forEachIndex(java.util.function.IntConsumer action) {
            int planeSize = c * h * w;
            for (int copy = 0; copy < n / examples; copy++) {
                for (int j = 0; j < count; j++) {
                    int r = 5 * j;
                    int plane = rects[r];
                    int b = plane / c + copy;
                    int ch = plane % c;
                    for (int y = rects[r + 1]; y < rects[r + 2]; y++) {
                        if (channelsLast) {
                            int row = (b * h + y) * w;
                            for (int x = rects[r + 3]; x < rects[r + 4]; x++) {
                                action.accept((row + x) * c + ch);
                            }
                        } else {
                            int row = ((b * c + ch) * h + y) * w;
                            for (int x = rects[r + 3]; x < rects[r + 4]; x++) {
                                action.accept(row + x);
                            }
                        }
                    }
                }
            }
        }

        /** The rectangles' rows as (first index, length) pairs, stride {@link #rowStride}: built once, then reused. */
        private int[] rows() {
            if (rowTable != null) {
                return rowTable;
            }
            int total = 0;
            for (int j = 0; j < count; j++) {
                total += rects[5 * j + 2] - rects[5 * j + 1];
            }
            int copies = n / examples;
            int[] t = new int[2 * total * copies];
            int planeSize = c * h * w;
            int at = 0;
            for (int copy = 0; copy < copies; copy++) {
                for (int j = 0; j < count; j++) {
                    int r = 5 * j;
                    int b = rects[r] / c + copy;
                    int ch = rects[r] % c;
                    int len = rects[r + 4] - rects[r + 3];
                    for (int y = rects[r + 1]; y < rects[r + 2]; y++) {
                        t[at++] = channelsLast ? ((b * h + y) * w + rects[r + 3]) * c + ch
                                : ((b * c + ch) * h + y) * w + rects[r + 3];
                        t[at++] = len;
                    }
                }
            }
            rowTable = t;
            return t;
        }

        private int rowStride() {
            return channelsLast ? c : 1;
        }

        /** Zeroes every dropped activation of {@code a}, a 'c'-order buffer of the mask's shape. */
        public void zero(java.nio.FloatBuffer a) {
            int[] t = rows();
            int stride = rowStride();
            for (int r = 0; r < t.length; r += 2) {
                for (int i = t[r], end = t[r] + t[r + 1] * stride; i < end; i += stride) {
                    a.put(i, 0f);
                }
            }
        }

        /** Zeroes every dropped activation of {@code a}, a 'c'-order buffer of the mask's shape. */
        public void zero(java.nio.DoubleBuffer a) {
            int[] t = rows();
            int stride = rowStride();
            for (int r = 0; r < t.length; r += 2) {
                for (int i = t[r], end = t[r] + t[r + 1] * stride; i < end; i += stride) {
                    a.put(i, 0.0);
                }
            }
        }

        /**
         * Zeroes the dropped activations of {@code a} and returns what they held, in visiting order, for
         * {@link #restore(java.nio.FloatBuffer, float[])}.
         */
        public float[] saveAndZero(java.nio.FloatBuffer a) {
            int[] t = rows();
            int stride = rowStride();
            float[] saved = new float[(int) visits()];
            int k = 0;
            for (int r = 0; r < t.length; r += 2) {
                for (int i = t[r], end = t[r] + t[r + 1] * stride; i < end; i += stride) {
                    saved[k++] = a.get(i);
                    a.put(i, 0f);
                }
            }
            return saved;
        }

        /**
         * Puts back what {@link #saveAndZero(java.nio.FloatBuffer)} took. An activation that overlapping blocks
         * visit twice was saved first with its value, then as +0: a saved +0 is skipped, so the true value stays.
         */
        public void restore(java.nio.FloatBuffer a, float[] saved) {
            int[] t = rows();
            int stride = rowStride();
            int k = 0;
            for (int r = 0; r < t.length; r += 2) {
                for (int i = t[r], end = t[r] + t[r + 1] * stride; i < end; i += stride) {
                    float v = saved[k++];
                    if (Float.floatToRawIntBits(v) != 0) {
                        a.put(i, v);
                    }
                }
            }
        }

        /** {@link #saveAndZero(java.nio.FloatBuffer)} in double. */
        public double[] saveAndZero(java.nio.DoubleBuffer a) {
            int[] t = rows();
            int stride = rowStride();
            double[] saved = new double[(int) visits()];
            int k = 0;
            for (int r = 0; r < t.length; r += 2) {
                for (int i = t[r], end = t[r] + t[r + 1] * stride; i < end; i += stride) {
                    saved[k++] = a.get(i);
                    a.put(i, 0.0);
                }
            }
            return saved;
        }

        /** {@link #restore(java.nio.FloatBuffer, float[])} in double. */
        public void restore(java.nio.DoubleBuffer a, double[] saved) {
            int[] t = rows();
            int stride = rowStride();
            int k = 0;
            for (int r = 0; r < t.length; r += 2) {
                for (int i = t[r], end = t[r] + t[r + 1] * stride; i < end; i += stride) {
                    double v = saved[k++];
                    if (Double.doubleToRawLongBits(v) != 0) {
                        a.put(i, v);
                    }
                }
            }
        }

        /** The distinct indices of the dropped activations. */
        public int[] indices() {
            long numel = (long) n * c * h * w;
            long[] seen = new long[(int) ((numel + 63) >>> 6)];
            int[] out = new int[(int) droppedCount()];
            int[] next = {0};
            forEachIndex(i -> {
                long bit = 1L << i;
                if ((seen[i >>> 6] & bit) == 0) {
                    seen[i >>> 6] |= bit;
                    out[next[0]++] = i;
                }
            });
            return out;
        }
    }

    private static long numel(long[] shape) {
        Checks.notNull("shape", shape);
        if (shape.length != 4) {
            throw new IllegalArgumentException("shape must have 4 dimensions, got " + Arrays.toString(shape));
        }
        long numel = 1;
        for (long s : shape) {
            if (s < 1) {
                throw new IllegalArgumentException("shape must have sizes >= 1, got " + Arrays.toString(shape));
            }
            numel *= s;
        }
        if (numel > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("DropBlock masks are limited to 2^31 - 9 elements, got shape "
                    + Arrays.toString(shape));
        }
        return numel;
    }

    /**
     * The next place after {@code previous} that holds a seed, or {@code total} when there is none: each place
     * independently with probability {@code gamma} (the gap is geometric); {@code logKeep} is {@code log(1 − gamma)}.
     */
    private static long nextSeed(SplittableRandom rng, double gamma, double logKeep, long previous, long total) {
        if (gamma >= 1.0) {
            return previous + 1;
        }
        if (gamma <= 0.0) {
            return total;
        }
        // an Exp(1) variate over -log(1 - γ): P(gap >= g) = P(E >= -g log(1 - γ)) = (1 - γ)^g
        double gap = Math.floor(rng.nextExponential() / -logKeep);
        return gap >= total - previous - 1 ? total : previous + 1 + (long) gap;
    }
}
