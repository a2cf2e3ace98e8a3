package org.regularize4j.ema;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.util.Checks;

import java.io.File;
import java.io.IOException;

/**
 * An exponential moving average of a network's weights, kept while it trains: timm's {@code ModelEmaV3} as a DL4J
 * {@link org.deeplearning4j.optimize.api.TrainingListener} for a {@link ComputationGraph} or
 * {@link MultiLayerNetwork}. After every training step ({@code iterationDone}, after the updater has changed the
 * weights) it updates
 * <pre>
 * ema ← d·ema + (1 − d)·w      with d = decayAt(step), step = the network's iteration count after the step
 * </pre>
 * for the whole flat parameter vector, so every floating-point state of the network is averaged: weights, biases,
 * normalization gains and shifts, and the batch-norm running statistics (this project's convolution + batch-norm
 * layers keep their running mean and variance as parameters, and so does DL4J's {@code BatchNormalization}, which
 * by default keeps {@code log10(std)} instead of the variance: that is what gets averaged there). The live
 * network's parameters and updater state are only read.
 *
 * <p><b>Decay</b> ({@link #decayAt}), as timm's {@code get_decay(step)}: with {@code s = max(0, step −
 * updateAfterStep − 1)}, {@code d = 0} while {@code s == 0} (the first step, and the first {@code updateAfterStep}
 * after it, copy the weights); afterwards {@code d = decay}, or with {@link #withWarmup(boolean) warmup}
 * {@code d = clamp(1 − (1 + s/γ)^(−power), minDecay, decay)} (γ = 1 and power = 2/3 by default: d reaches 0.999
 * after about 31.6k steps). Since the first step copies the weights, the average starts from the weights after
 * the first step it sees.
 *
 * <p><b>Cost.</b> Two in-place element-wise operations on the flat parameter vector per step ({@code ema *= d},
 * then {@code ema += (1 − d)·w} with ND4J's {@code axpy}); no per-parameter views, no temporary arrays. The average
 * has the parameters' data type.
 *
 * <p><b>Checkpoints.</b> {@link #writeTo(File)} adds this object (settings, average, last step) to a model zip that
 * {@code ModelSerializer} wrote, as the ModelSerializer object {@value #OBJECT_KEY}; {@link #readFrom(File)} gives it
 * back. The decay of the next step is computed from the restored network's iteration count, so training resumed
 * from a checkpoint gives the same average, bit for bit, as training without the stop.
 *
 * <p>DL4J calls listeners before it applies weight constraints ({@code constrainWeights}): with constraints the
 * average sees the weights before the constraint of that step. One instance follows one network.
 *
 * <pre>{@code
 * ModelEma ema = new ModelEma(0.999).withWarmup(true);
 * net.addListeners(ema);                        // net: a ComputationGraph or MultiLayerNetwork
 * net.fit(trainData);
 * ComputationGraph averaged = (ComputationGraph) ema.model();   // for output(), evaluate(), ModelSerializer
 * }</pre>
 */
public final class ModelEma extends BaseTrainingListener implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    /** Key of the ModelSerializer object that {@link #writeTo(File)} adds to a model zip. */
    public static final String OBJECT_KEY = "modelEma";
    public static final double DEFAULT_WARMUP_GAMMA = 1.0;
    public static final double DEFAULT_WARMUP_POWER = 2.0 / 3.0;

    private final double decay;
    private double minDecay;
    private boolean warmup;
    private double warmupGamma = DEFAULT_WARMUP_GAMMA;
    private double warmupPower = DEFAULT_WARMUP_POWER;
    private int updateAfterStep;

    /** The average, or null before the first step. */
    private INDArray average;
    /** The step of the last update (the network's iteration count after it), or -1. */
    private long lastStep = -1;
    /** The network it follows (not saved). */
    private transient Model live;

    /** @param decay the decay after warmup, in [0, 1] (timm's default 0.9999; 0.999 for short runs) */
    public ModelEma(double decay) {
        this.decay = Checks.probability("decay", decay);
    }

    /** Warmup of the decay (timm's {@code use_warmup}); off by default. */
    public ModelEma withWarmup(boolean warmup) {
        checkNotStarted();
        this.warmup = warmup;
        return this;
    }

    /** γ of the warmup ({@code warmup_gamma}), finite and {@code > 0}; default 1. */
    public ModelEma withWarmupGamma(double gamma) {
        checkNotStarted();
        this.warmupGamma = positive("warmupGamma", gamma);
        return this;
    }

    /** Power of the warmup ({@code warmup_power}), finite and {@code > 0}; default 2/3. */
    public ModelEma withWarmupPower(double power) {
        checkNotStarted();
        this.warmupPower = positive("warmupPower", power);
        return this;
    }

    /** Lower bound of the warmed-up decay ({@code min_decay}), in [0, decay]; default 0. */
    public ModelEma withMinDecay(double minDecay) {
        checkNotStarted();
        if (!(minDecay >= 0.0 && minDecay <= decay)) {
            throw new IllegalArgumentException("minDecay must be in [0, decay] = [0, " + decay + "], got " + minDecay);
        }
        this.minDecay = minDecay;
        return this;
    }

    /** Copy the weights (decay 0) for the first {@code steps} steps after the first ({@code update_after_step}), >= 0. */
    public ModelEma withUpdateAfterStep(int steps) {
        checkNotStarted();
        this.updateAfterStep = Checks.atLeast("updateAfterStep", steps, 0);
        return this;
    }

    private static double positive(String name, double value) {
        if (!(value > 0.0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " must be finite and > 0, got " + value);
        }
        return value;
    }

    private void checkNotStarted() {
        if (average != null) {
            throw new IllegalStateException("ModelEma settings cannot change after the average has started (step "
                    + lastStep + ")");
        }
    }

    /**
     * The decay used for the update after training step {@code step} (1 = the first step of training), exactly as
     * timm's {@code ModelEmaV3.get_decay(step)}.
     *
     * @param step {@code >= 0}
     */
    public double decayAt(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        long s = Math.max(0, step - updateAfterStep - 1);
        if (s <= 0) {
            return 0.0;
        }
        if (!warmup) {
            return decay;
        }
        double d = 1.0 - Math.pow(1.0 + s / warmupGamma, -warmupPower);
        return Math.max(Math.min(d, decay), minDecay);
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        update(model, iteration + 1L);
    }

    /**
     * One update with the weights of {@code model} after training step {@code step}; what {@link #iterationDone}
     * does after each step (with the network's iteration count). For use without the listener.
     */
    public void update(Model model, long step) {
        INDArray w = flatParams(model);
        double d = decayAt(step);
        if (average == null) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                average = w.dup();
            }
        } else {
            checkSameShape(w, "the network it follows");
            if (d == 0.0) {
                average.assign(w);
            } else if (d != 1.0) {
                average.muli(d);
                Nd4j.exec(new Axpy(w, average, average, 1.0 - d));
            }
        }
        live = model;
        lastStep = step;
    }

    private void checkSameShape(INDArray w, String what) {
        if (w.length() != average.length() || w.dataType() != average.dataType()) {
            throw new IllegalStateException("ModelEma averages " + average.length() + " " + average.dataType()
                    + " parameters, but " + what + " has " + w.length() + " " + w.dataType() + " parameters; use one"
                    + " ModelEma per network");
        }
    }

    private static INDArray flatParams(Model model) {
        if (!(model instanceof ComputationGraph) && !(model instanceof MultiLayerNetwork)) {
            throw new IllegalArgumentException("model must be a ComputationGraph or MultiLayerNetwork, got "
                    + (model == null ? "null" : model.getClass().getName()));
        }
        INDArray p = model.params();
        if (p == null) {
            throw new IllegalArgumentException("model must be initialized (call init() first)");
        }
        return p.reshape(p.length());
    }

    /** True once the average has seen a step (or was read from a checkpoint). */
    public boolean hasAverage() {
        return average != null;
    }

    /** The step of the last update (the network's iteration count after it), or -1 before the first. */
    public long lastStep() {
        return lastStep;
    }

    /** The averaged flat parameters (a copy), in the network's parameter order. */
    public INDArray params() {
        return requireAverage().dup();
    }

    private INDArray requireAverage() {
        if (average == null) {
            throw new IllegalStateException("ModelEma has no average yet: attach it with net.addListeners(ema) and"
                    + " train at least one step");
        }
        return average;
    }

    /** Writes the averaged parameters into {@code net} (same architecture); returns it. */
    public <T extends Model> T copyTo(T net) {
        INDArray w = flatParams(net);
        requireAverage();
        checkSameShape(w, "net");
        w.assign(average);
        return net;
    }

    /**
     * A new network with the configuration of the network this follows and the averaged parameters: a
     * {@link ComputationGraph} or {@link MultiLayerNetwork} like it, without updater state or listeners.
     */
    public Model model() {
        requireAverage();
        if (live == null) {
            throw new IllegalStateException("ModelEma follows no network in this JVM (it was read from a checkpoint):"
                    + " use copyTo(net) with a network of the same architecture");
        }
        Model copy;
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            if (live instanceof ComputationGraph) {
                ComputationGraph g = new ComputationGraph(((ComputationGraph) live).getConfiguration().clone());
                g.init(average.dup(), false);
                copy = g;
            } else {
                MultiLayerNetwork m = new MultiLayerNetwork(((MultiLayerNetwork) live).getLayerWiseConfigurations()
                        .clone());
                m.init(average.dup(), false);
                copy = m;
            }
        }
        return copy;
    }

    // ------------------------------------------------------------------------------------------ checkpoints

    /** Adds this object (settings and average) to a model zip written by {@code ModelSerializer}. */
    public void writeTo(File modelZip) throws IOException {
        Checks.notNull("modelZip", modelZip);
        requireAverage();
        if (!modelZip.isFile()) {
            throw new IllegalArgumentException("modelZip " + modelZip + " is not a file");
        }
        try {
            ModelSerializer.addObjectToFile(modelZip, OBJECT_KEY, this);
        } catch (RuntimeException e) {
            throw new IOException("could not add the model EMA to " + modelZip + ": " + e, e);
        }
    }

    /** True if the model zip holds a ModelEma written by {@link #writeTo(File)}. */
    public static boolean isIn(File modelZip) {
        Checks.notNull("modelZip", modelZip);
        return modelZip.isFile() && ModelSerializer.listObjectsInFile(modelZip).contains(OBJECT_KEY);
    }

    /**
     * The ModelEma that {@link #writeTo(File)} added to a model zip: same settings, average and last step. Attach
     * it to the restored network ({@code net.addListeners(ema)}) to continue.
     *
     * @throws IllegalArgumentException if the zip holds none
     */
    public static ModelEma readFrom(File modelZip) throws IOException {
        if (!isIn(modelZip)) {
            throw new IllegalArgumentException(modelZip + " holds no model EMA (no ModelSerializer object '"
                    + OBJECT_KEY + "')");
        }
        try {
            return ModelSerializer.getObjectFromFile(modelZip, OBJECT_KEY);
        } catch (RuntimeException e) {
            throw new IOException("could not read the model EMA in " + modelZip + ": " + e, e);
        }
    }

    /** Same settings (the state is not compared). */
    public boolean sameSettings(ModelEma o) {
        return o != null && decay == o.decay && minDecay == o.minDecay && warmup == o.warmup
                && warmupGamma == o.warmupGamma && warmupPower == o.warmupPower && updateAfterStep == o.updateAfterStep;
    }

    @Override
    public String toString() {
        return "ModelEma(decay=" + decay + (warmup ? ", warmup gamma=" + warmupGamma + " power=" + warmupPower
                + " minDecay=" + minDecay : "") + (updateAfterStep > 0 ? ", updateAfterStep=" + updateAfterStep : "")
                + (average == null ? "" : ", step " + lastStep) + ")";
    }
}
