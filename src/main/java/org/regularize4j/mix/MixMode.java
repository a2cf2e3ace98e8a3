package org.regularize4j.mix;

/**
 * How {@link Mixup} draws its parameters (timm's {@code mode}): the partner of example i is always example
 * {@code n − 1 − i} (the reversed batch).
 *
 * <ul>
 *   <li>{@link #BATCH}: one draw per mini-batch (whether to mix, mixup or CutMix, λ and the CutMix box),
 *       applied to every example;</li>
 *   <li>{@link #PAIR}: one draw per pair (i, n − 1 − i), applied symmetrically to both (the batch size must
 *       be even);</li>
 *   <li>{@link #ELEM}: one draw per example.</li>
 * </ul>
 *
 * <pre>{@code
 * Mixup perExample = Mixup.builder().mixupAlpha(0.2).mode(MixMode.ELEM).build();
 * }</pre>
 */
public enum MixMode {
    /** One draw for the whole mini-batch. */
    BATCH,
    /** One draw per pair (i, n − 1 − i); needs an even batch size. */
    PAIR,
    /** One draw per example. */
    ELEM
}
