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
 *   <li>Every (example, channel) plane draws its own seeds, each place independently with probability γ
 *       (timm draws {@code rand_like(x)}); with {@code batchwise} all examples share one set of planes.</li>
 *   <li>Default: seeds only where a whole block fits (timm's {@code valid_block}); {@code fast}: seeds
 *       anywhere, blocks clipped at the border. A seed at (y, x) drops rows {@code y − k/2 .. y − k/2 + k − 1}
 *       (integer division) and the same columns, which is timm's max-pooling with padding k/2 for odd k and
 *       its corrected crop for even k.</li>
 *   <li>Kept activations are multiplied by {@code numel / kept} over the whole array; when nothing is kept
 *       the mask is all zeros (timm adds 1e-7 to the denominator for the same reason).</li>
 * </ul>
 *
 * <p>The seeds of a plane come from a {@link SplittableRandom} seeded with
 * {@link DropDecisions#hash}(seed, iteration, epoch, streamIndex, plane), salted so that they never
 * coincide with the stochastic-depth decisions of the same coordinates. The gaps between seeds are drawn
 * as geometric variates, so a plane costs one draw per seed rather than one per place.
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
        float scale = kept == 0 ? 0f : (float) ((double) m.length / kept);
        for (int i = 0; i < m.length; i++) {
            m[i] *= scale;
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray f = Nd4j.create(m, shape, 'c');
            return dataType == DataType.FLOAT ? f : f.castTo(dataType);
        }
    }

    /**
     * The unscaled keep mask (1 kept, 0 dropped) in the 'c' order of {@code shape}: what {@link #create} scales.
     */
    public static float[] keep(DropBlock conf, double dropProb, long[] shape, boolean channelsLast, long seed,
                               long iteration, long epoch, long streamIndex) {
        Checks.probability("dropProb", dropProb);
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
        int n = (int) shape[0];
        int c = (int) (channelsLast ? shape[3] : shape[1]);
        int h = (int) (channelsLast ? shape[1] : shape[2]);
        int w = (int) (channelsLast ? shape[2] : shape[3]);
        float[] m = new float[(int) numel];
        Arrays.fill(m, 1f);
        if (dropProb == 0.0) {
            return m;
        }
        int k = clippedBlockSize(conf.getBlockSize(), h, w);
        double gamma = Math.min(1.0, gamma(dropProb, conf.getBlockSize(), conf.getGammaScale(), h, w));
        boolean fast = conf.isFast();
        int rows = fast ? h : h - k + 1;
        int cols = fast ? w : w - k + 1;
        int shift = fast ? k / 2 : 0;
        int planeSize = c * h * w;
        int examples = conf.isBatchwise() ? 1 : n;
        for (int b = 0; b < examples; b++) {
            for (int ch = 0; ch < c; ch++) {
                long plane = (long) b * c + ch;
                SplittableRandom rng = new SplittableRandom(DropDecisions.hash(seed ^ SALT, iteration, epoch,
                        streamIndex, plane));
                long total = (long) rows * cols;
                long pos = nextSeed(rng, gamma, -1, total);
                while (pos < total) {
                    int top = (int) (pos / cols) - shift;
                    int left = (int) (pos % cols) - shift;
                    int y1 = Math.min(h, top + k);
                    int x1 = Math.min(w, left + k);
                    for (int y = Math.max(0, top); y < y1; y++) {
                        for (int x = Math.max(0, left); x < x1; x++) {
                            m[channelsLast ? ((b * h + y) * w + x) * c + ch : ((b * c + ch) * h + y) * w + x] = 0f;
                        }
                    }
                    pos = nextSeed(rng, gamma, pos, total);
                }
            }
        }
        for (int b = examples; b < n; b++) {
            System.arraycopy(m, 0, m, b * planeSize, planeSize);   // batchwise: one mask for every example
        }
        return m;
    }

    /**
     * The next place after {@code previous} that holds a seed, or {@code total} when there is none: each place
     * independently with probability {@code gamma} (the gap is geometric).
     */
    private static long nextSeed(SplittableRandom rng, double gamma, long previous, long total) {
        if (gamma >= 1.0) {
            return previous + 1;
        }
        if (gamma <= 0.0) {
            return total;
        }
        double gap = Math.floor(Math.log(1.0 - rng.nextDouble()) / Math.log1p(-gamma));   // P(gap >= g) = (1-γ)^g
        return gap >= total - previous - 1 ? total : previous + 1 + (long) gap;
    }
}
