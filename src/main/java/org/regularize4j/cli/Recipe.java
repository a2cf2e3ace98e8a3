package org.regularize4j.cli;

import org.nd4j.linalg.dataset.api.DataSet;
import org.regularize4j.augment.RandomErasing;
import org.regularize4j.mix.MixMode;
import org.regularize4j.mix.Mixup;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The batch side of {@code train}'s recipe flags, in timm's order: random erasing per image (timm's {@code --reprob},
 * per-pixel noise as its {@code --remode pixel} default), then Mixup/CutMix on the batch (timm's {@code --mixup},
 * {@code --cutmix}, {@code --mixup-prob}, {@code --mixup-switch-prob}, batch mode). Label smoothing is the loss's
 * ({@code LossLabelSmoothing}), which equals timm's smoothing inside {@code mixup_target}. Every draw is a function of
 * (seed, step), the step being the network's iteration count, so a resumed run draws what an uninterrupted one does.
 *
 * <pre>{@code
 * Recipe recipe = new Recipe(0.8, 1.0, 1.0, 0.5, 0.25, 10, 1L);
 * DataSet mixed = recipe.apply(batch, 0);   // erased, then mixed; labels soft
 * }</pre>
 */
final class Recipe {
    private final Mixup mixup;
    private final RandomErasing erasing;

    /**
     * @param mixupAlpha  0 = no mixup
     * @param cutmixAlpha 0 = no CutMix
     * @param mixProb     probability that a batch is mixed
     * @param switchProb  probability of CutMix when both are on
     * @param eraseProb   random-erasing probability per image; 0 = off
     */
    Recipe(double mixupAlpha, double cutmixAlpha, double mixProb, double switchProb, double eraseProb, int numClasses,
           long seed) {
        this.mixup = mixupAlpha > 0 || cutmixAlpha > 0 ? Mixup.builder().mixupAlpha(mixupAlpha).cutmixAlpha(cutmixAlpha)
                .prob(mixProb).switchProb(switchProb).mode(MixMode.BATCH).labelSmoothing(0).numClasses(numClasses)
                .seed(seed ^ 0x6D69787570L).build() : null;
        this.erasing = eraseProb > 0 ? RandomErasing.builder().probability(eraseProb).mode(RandomErasing.Mode.PIXEL)
                .seed(seed ^ 0x6572617365L).build() : null;
    }

    /** Whether any batch-side regularizer is on. */
    boolean isActive() {
        return mixup != null || erasing != null;
    }

    /** The batch of step {@code step} with erasing and mixing applied (the same object, new arrays). */
    <T extends DataSet> T apply(T batch, long step) {
        if (erasing != null) {
            erasing.apply(batch, step);
        }
        if (mixup != null) {
            mixup.apply(batch, step);
        }
        return batch;
    }

    /** One line for the console, e.g. {@code mixup 0.8, cutmix 1.0 (prob 1.0, switch 0.5), random erasing 0.25}. */
    String describe() {
        List<String> parts = new ArrayList<>();
        if (mixup != null) {
            parts.add(String.format(Locale.ROOT, "mixup %s, cutmix %s (prob %s, switch %s)", mixup.getMixupAlpha(),
                    mixup.getCutmixAlpha(), mixup.getProb(), mixup.getSwitchProb()));
        }
        if (erasing != null) {
            parts.add("random erasing " + erasing.getProbability() + " (per-pixel noise)");
        }
        return parts.isEmpty() ? "none" : String.join(", ", parts);
    }
}
