package org.regularize4j.resnet;

import java.io.Serializable;

/**
 * One convolution (no bias) followed by batch normalization and, optionally, ReLU: the unit that ResNet
 * layers are made of. Its parameters are named after {@link #convName()} and {@link #bnName()}:
 * {@code <conv>W} (the weights, {@code [outC, inC, k, k]}), {@code <bn>Gamma}, {@code <bn>Beta} (trainable
 * norm parameters) and {@code <bn>Mean}, {@code <bn>Var} (running statistics, not trained).
 *
 * <pre>{@code
 * ConvBnSpec s = new ConvBnSpec("conv1", "bn1", 16, 32, 3, 2, true);
 * String w = s.weightKey();   // "conv1W"
 * }</pre>
 */
public final class ConvBnSpec implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String convName;
    private final String bnName;
    private final int inChannels;
    private final int outChannels;
    private final int kernel;
    private final int stride;
    private final boolean relu;

    /**
     * @param kernel square kernel size; padding is kernel / 2 (PyTorch's {@code padding=k//2})
     */
    public ConvBnSpec(String convName, String bnName, int inChannels, int outChannels, int kernel, int stride,
                      boolean relu) {
        this.convName = convName;
        this.bnName = bnName;
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.stride = stride;
        this.relu = relu;
    }

    public String convName() {
        return convName;
    }

    public String bnName() {
        return bnName;
    }

    public int inChannels() {
        return inChannels;
    }

    public int outChannels() {
        return outChannels;
    }

    public int kernel() {
        return kernel;
    }

    public int stride() {
        return stride;
    }

    public int padding() {
        return kernel / 2;
    }

    public boolean relu() {
        return relu;
    }

    /** Number of trainable parameters: weights plus gamma and beta. */
    public long trainableParams() {
        return (long) outChannels * inChannels * kernel * kernel + 2L * outChannels;
    }

    /** Number of parameters including the running mean and variance. */
    public long numParams() {
        return trainableParams() + 2L * outChannels;
    }

    public String weightKey() {
        return convName + "W";
    }

    public String gammaKey() {
        return bnName + "Gamma";
    }

    public String betaKey() {
        return bnName + "Beta";
    }

    public String meanKey() {
        return bnName + "Mean";
    }

    public String varKey() {
        return bnName + "Var";
    }

    @Override
    public String toString() {
        return convName + "(" + inChannels + "->" + outChannels + ", " + kernel + "x" + kernel + ", stride " + stride
                + ")+" + bnName + (relu ? "+relu" : "");
    }
}
