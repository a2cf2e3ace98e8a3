package org.regularize4j.data;

import java.io.Serializable;
import java.util.SplittableRandom;

/**
 * Training-time image augmentation of {@link FashionMnistIterator}: a random crop with zero padding (torchvision's
 * {@code RandomCrop(28, padding)}: pad every side with {@code padding} background pixels, cut a 28x28 window at a
 * uniformly random offset) and a random horizontal flip with probability 1/2. The draws of an example are a pure
 * function of (seed, epoch, position in the epoch), so a resumed run augments exactly like an uninterrupted one.
 *
 * <pre>{@code
 * Augmentation none = Augmentation.none();
 * Augmentation standard = Augmentation.cropAndFlip(2);          // shift by up to 2 pixels, flip half the images
 * Augmentation cropOnly = Augmentation.of(2, false);
 * }</pre>
 */
public final class Augmentation implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Augmentation NONE = new Augmentation(0, false);

    private final int padding;
    private final boolean horizontalFlip;

    private Augmentation(int padding, boolean horizontalFlip) {
        this.padding = padding;
        this.horizontalFlip = horizontalFlip;
    }

    /** No augmentation. */
    public static Augmentation none() {
        return NONE;
    }

    /** Random crop with {@code padding} and random horizontal flip. */
    public static Augmentation cropAndFlip(int padding) {
        return of(padding, true);
    }

    /**
     * @param padding        in [0, 14): the largest shift in pixels; 0 = no crop
     * @param horizontalFlip flip half of the images left to right
     */
    public static Augmentation of(int padding, boolean horizontalFlip) {
        if (padding < 0 || padding >= FashionMnist.SIDE / 2) {
            throw new IllegalArgumentException("padding must be in [0, " + FashionMnist.SIDE / 2 + "), got " + padding);
        }
        return new Augmentation(padding, horizontalFlip);
    }

    /** The largest shift in pixels (0: no crop). */
    public int padding() {
        return padding;
    }

    /** Whether half of the images are flipped left to right. */
    public boolean horizontalFlip() {
        return horizontalFlip;
    }

    /** Whether this changes anything. */
    public boolean isIdentity() {
        return padding == 0 && !horizontalFlip;
    }

    /**
     * Writes the augmented, normalized image {@code index} of {@code data} into {@code out[offset..offset+784)},
     * with the draws of {@code random}.
     */
    void apply(FashionMnist data, int index, SplittableRandom random, float[] out, int offset) {
        int dy = padding == 0 ? 0 : random.nextInt(2 * padding + 1) - padding;
        int dx = padding == 0 ? 0 : random.nextInt(2 * padding + 1) - padding;
        boolean flip = horizontalFlip && random.nextBoolean();
        int side = FashionMnist.SIDE;
        float background = FashionMnist.NORMALIZED[0];
        for (int r = 0; r < side; r++) {
            int sr = r + dy;
            for (int c = 0; c < side; c++) {
                int sc = (flip ? side - 1 - c : c) + dx;
                out[offset + r * side + c] = sr < 0 || sr >= side || sc < 0 || sc >= side ? background
                        : FashionMnist.NORMALIZED[data.rawPixel(index, sr * side + sc)];
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Augmentation && ((Augmentation) o).padding == padding
                && ((Augmentation) o).horizontalFlip == horizontalFlip;
    }

    @Override
    public int hashCode() {
        return 31 * padding + (horizontalFlip ? 1 : 0);
    }

    @Override
    public String toString() {
        return isIdentity() ? "none" : "random crop (padding " + padding + ")" + (horizontalFlip ? " + horizontal flip" : "");
    }
}
