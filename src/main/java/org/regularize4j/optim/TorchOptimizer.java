package org.regularize4j.optim;

import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.schedule.ISchedule;
import org.regularize4j.penalty.DecoupledWeightDecay;
import org.regularize4j.penalty.L2Penalty;
import org.regularize4j.penalty.PenalizedBatchNormalization;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.penalty.Rule;
import org.regularize4j.penalty.Selector;
import org.regularize4j.util.Checks;

import java.io.Serializable;
import java.util.Objects;

/**
 * PyTorch optimizers as DL4J pieces: an updater ({@link TorchAdam} or {@link TorchSgd}) plus the weight penalty
 * that reproduces PyTorch's {@code weight_decay} for that optimizer, and the policies to place it. Applied to
 * the same parameters, a DL4J network then takes exactly PyTorch's steps, also under a learning-rate schedule
 * (decoupled decay uses the current scheduled rate, like PyTorch's {@code p.mul_(1 - lr * wd)}).
 *
 * <table>
 * <caption>PyTorch to regularize4j</caption>
 * <tr><th>PyTorch</th><th>here</th></tr>
 * <tr><td>{@code AdamW(lr, weight_decay=wd)}</td><td>{@link #adamW}: TorchAdam + DecoupledWeightDecay(wd)</td></tr>
 * <tr><td>{@code Adam(lr, weight_decay=wd)}</td><td>{@link #adam}: TorchAdam + L2Penalty(wd)</td></tr>
 * <tr><td>{@code SGD(lr, momentum, nesterov, weight_decay=wd)}</td><td>{@link #sgd}: TorchSgd + L2Penalty(wd)</td></tr>
 * <tr><td>SGDW (decoupled)</td><td>{@link #sgdW}: TorchSgd + DecoupledWeightDecay(wd)</td></tr>
 * </table>
 *
 * <p>PyTorch decays every parameter in a parameter group; timm puts biases and normalization parameters in a
 * group without decay. {@link #standardPolicy()} is timm's split, {@link #everyParameterPolicy()} PyTorch's
 * default (which needs {@link PenalizedBatchNormalization} for batch-norm gains and shifts).
 *
 * <pre>{@code
 * TorchOptimizer adamW = TorchOptimizer.adamW(new ExponentialSchedule(ScheduleType.EPOCH, 1e-3, 0.95), 0.05);
 * ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).updater(adamW.updater())
 *         .graphBuilder().addInputs("in")
 *         .addLayer("out", new OutputLayer.Builder().nIn(4).nOut(3).activation(Activation.SOFTMAX).build(), "in")
 *         .setOutputs("out").build();
 * adamW.standardPolicy().applyTo(conf);
 * }</pre>
 */
public final class TorchOptimizer implements Serializable {
    private static final long serialVersionUID = 1L;

    private final IUpdater updater;
    private final Regularization weightPenalty;

    private TorchOptimizer(IUpdater updater, Regularization weightPenalty) {
        this.updater = updater;
        this.weightPenalty = weightPenalty;
    }

    /** PyTorch's {@code AdamW(lr, weight_decay)} with default betas (0.9, 0.999) and eps 1e-8. */
    public static TorchOptimizer adamW(double lr, double weightDecay) {
        return new TorchOptimizer(new TorchAdam(lr, TorchAdam.DEFAULT_BETA1, TorchAdam.DEFAULT_BETA2,
                TorchAdam.DEFAULT_EPSILON), decay(weightDecay) ? new DecoupledWeightDecay(weightDecay) : null);
    }

    /** AdamW under a learning-rate schedule. */
    public static TorchOptimizer adamW(ISchedule lr, double weightDecay) {
        return adamW(lr, TorchAdam.DEFAULT_BETA1, TorchAdam.DEFAULT_BETA2, TorchAdam.DEFAULT_EPSILON, weightDecay);
    }

    /** PyTorch's {@code AdamW(lr, betas=(beta1, beta2), eps, weight_decay)}. */
    public static TorchOptimizer adamW(ISchedule lr, double beta1, double beta2, double eps, double weightDecay) {
        return new TorchOptimizer(new TorchAdam(lr, beta1, beta2, eps),
                decay(weightDecay) ? new DecoupledWeightDecay(weightDecay) : null);
    }

    /** PyTorch's {@code Adam(lr, weight_decay)}: coupled L2 ({@link L2Penalty}). */
    public static TorchOptimizer adam(ISchedule lr, double weightDecay) {
        return new TorchOptimizer(new TorchAdam(lr), decay(weightDecay) ? new L2Penalty(weightDecay) : null);
    }

    /** SGDW: {@code SGD(lr, momentum)} with decoupled decay {@code w <- w - lr * weightDecay * w}. */
    public static TorchOptimizer sgdW(double lr, double momentum, double weightDecay) {
        return new TorchOptimizer(new TorchSgd(lr, momentum, false),
                decay(weightDecay) ? new DecoupledWeightDecay(weightDecay) : null);
    }

    /** SGDW under a learning-rate schedule, optionally with Nesterov momentum. */
    public static TorchOptimizer sgdW(ISchedule lr, double momentum, boolean nesterov, double weightDecay) {
        return new TorchOptimizer(new TorchSgd(lr, momentum, nesterov),
                decay(weightDecay) ? new DecoupledWeightDecay(weightDecay) : null);
    }

    /** PyTorch's {@code SGD(lr, momentum, nesterov, weight_decay)}: coupled L2 ({@link L2Penalty}). */
    public static TorchOptimizer sgd(double lr, double momentum, boolean nesterov, double weightDecay) {
        return new TorchOptimizer(new TorchSgd(lr, momentum, nesterov),
                decay(weightDecay) ? new L2Penalty(weightDecay) : null);
    }

    /** As {@link #sgd(double, double, boolean, double)} under a learning-rate schedule. */
    public static TorchOptimizer sgd(ISchedule lr, double momentum, boolean nesterov, double weightDecay) {
        return new TorchOptimizer(new TorchSgd(lr, momentum, nesterov),
                decay(weightDecay) ? new L2Penalty(weightDecay) : null);
    }

    private static boolean decay(double weightDecay) {
        return Checks.nonNegative("weightDecay", weightDecay) > 0.0;
    }

    /** A fresh copy of the updater, for {@code NeuralNetConfiguration.Builder.updater(...)}. */
    public IUpdater updater() {
        return updater.clone();
    }

    /** The weight-decay penalty (a copy), or null when {@code weightDecay == 0}. */
    public Regularization weightPenalty() {
        return weightPenalty == null ? null : weightPenalty.clone();
    }

    /** timm's split: weights decayed, biases/norms/others not ({@link RegularizationPolicy#standard}). */
    public RegularizationPolicy standardPolicy() {
        return weightPenalty == null ? RegularizationPolicy.standard(0.0)
                : RegularizationPolicy.standard(weightPenalty.clone());
    }

    /** PyTorch's default: every parameter decayed (running statistics aside). */
    public RegularizationPolicy everyParameterPolicy() {
        if (weightPenalty == null) {
            return RegularizationPolicy.none();
        }
        return RegularizationPolicy.builder()
                .rule(Rule.penalize(Selector.all(), weightPenalty.clone()).optional().named("every parameter"))
                .build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TorchOptimizer && updater.equals(((TorchOptimizer) o).updater)
                && Objects.equals(weightPenalty, ((TorchOptimizer) o).weightPenalty);
    }

    @Override
    public int hashCode() {
        return Objects.hash(updater, weightPenalty);
    }

    @Override
    public String toString() {
        return "TorchOptimizer(" + updater + ", " + weightPenalty + ")";
    }
}
