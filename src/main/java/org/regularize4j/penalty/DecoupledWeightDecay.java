package org.regularize4j.penalty;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Decoupled weight decay (Loshchilov &amp; Hutter): after the updater, {@code w <- w - lr * coeff * w}, with
 * {@code lr} the updater's current (scheduled) learning rate. This is PyTorch's {@code AdamW(weight_decay=coeff)}
 * and SGDW; together with {@code optim.TorchAdam} it gives PyTorch's AdamW exactly (see {@code optim.TorchOptimizer}).
 * With an updater that has no learning rate ({@code NoOp}) DL4J passes {@code lr = 1}.
 *
 * <p><b>Score: 0.</b> Decoupled decay is not the gradient of any term of the loss (that is its point: the
 * updater never sees it), so like PyTorch we do not add anything to the reported loss. {@link PenaltyTable}
 * still lists the parameters it decays. Because its score is 0, keep it out of gradient checks (DL4J's
 * {@code GradientCheckUtil} runs the real updater, and so the decay).
 *
 * <p>Compared with DL4J's {@code WeightDecay(coeff, true)}: same update, but that class reports
 * {@code ½ * coeff * ||w||²} as score and is the one DL4J's configuration merge appends twice.
 *
 * <pre>{@code
 * RegularizationPolicy policy = RegularizationPolicy.standard(new DecoupledWeightDecay(0.05));
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class DecoupledWeightDecay implements Regularization {
    private static final long serialVersionUID = 1L;

    @JsonProperty("coeff")
    private final ISchedule coeff;

    /** @param coeff decay coefficient (multiplied by the learning rate), finite and {@code >= 0} */
    public DecoupledWeightDecay(double coeff) {
        this.coeff = Coefficient.fixed("coeff", coeff);
    }

    /** @param coeff decay coefficient schedule (values must stay finite and {@code >= 0}) */
    @JsonCreator
    public DecoupledWeightDecay(@JsonProperty("coeff") ISchedule coeff) {
        this.coeff = Coefficient.schedule("coeff", coeff);
    }

    /** The coefficient schedule. */
    public ISchedule getCoeff() {
        return coeff;
    }

    @Override
    public ApplyStep applyStep() {
        return ApplyStep.POST_UPDATER;
    }

    /** {@code update += lr * coeff * w}; DL4J then subtracts the update from the parameters. */
    @Override
    public void apply(INDArray param, INDArray update, double lr, int iteration, int epoch) {
        double scale = lr * Coefficient.valueAt("coeff", coeff, iteration, epoch);
        if (scale != 0.0) {
            Nd4j.exec(new Axpy(param, update, update, scale));
        }
    }

    /** Always 0: decoupled decay is not part of the loss (see the class comment). */
    @Override
    public double score(INDArray param, int iteration, int epoch) {
        return 0.0;
    }

    @Override
    public DecoupledWeightDecay clone() {
        return new DecoupledWeightDecay(coeff.clone());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DecoupledWeightDecay && coeff.equals(((DecoupledWeightDecay) o).coeff);
    }

    @Override
    public int hashCode() {
        return 31 * DecoupledWeightDecay.class.hashCode() + coeff.hashCode();
    }

    @Override
    public String toString() {
        return "DecoupledWeightDecay(coeff=" + Coefficient.format(coeff) + ")";
    }
}
