package org.regularize4j.cli;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.regularize4j.loss.LossLabelSmoothing;

import java.util.List;
import java.util.Map;

/**
 * The data loss and accuracy of each training batch, from the forward pass that the training step makes anyway
 * (like PyTorch's running training loss): DL4J's {@code score()} adds the weight penalties, and a second forward
 * pass would cost a third of a step. During the forward pass DL4J hands the activations of every vertex except
 * the output layer to {@link #onForwardPass}; the logits are the softmax output layer's affine map of its input.
 * Works for a graph whose single output is a softmax {@link OutputLayer} with MCXENT or label-smoothing loss (the
 * ResNet builder's {@code fc}); {@link #forNet} returns null otherwise. The loss is the cross-entropy against the
 * (smoothed) labels, soft ones too (Mixup); an example counts as correct when its top logit is its top label.
 *
 * <pre>{@code
 * BatchStatsListener stats = BatchStatsListener.forNet(net);
 * net.addListeners(stats);
 * net.fit(batch);
 * double[] lossAndCorrect = stats.lossAndCorrect(batch.getLabels());   // {mean data loss, correct examples}
 * }</pre>
 */
final class BatchStatsListener extends BaseTrainingListener {
    private final String outputName;
    private final String inputName;
    private final double smoothing;
    private INDArray logits;

    private BatchStatsListener(String outputName, String inputName, double smoothing) {
        this.outputName = outputName;
        this.inputName = inputName;
        this.smoothing = smoothing;
    }

    /** The listener for {@code net}, or null when its output is not a single softmax/MCXENT output layer. */
    static BatchStatsListener forNet(ComputationGraph net) {
        List<String> outputs = net.getConfiguration().getNetworkOutputs();
        if (outputs.size() != 1) {
            return null;
        }
        String out = outputs.get(0);
        if (!(net.getConfiguration().getVertices().get(out) instanceof LayerVertex)) {
            return null;
        }
        org.deeplearning4j.nn.conf.layers.Layer conf = ((LayerVertex) net.getConfiguration().getVertices().get(out))
                .getLayerConf().getLayer();
        List<String> inputs = net.getConfiguration().getVertexInputs().get(out);
        if (!(conf instanceof OutputLayer) || !(((OutputLayer) conf).getActivationFn() instanceof ActivationSoftmax)
                || !(((OutputLayer) conf).getLossFn() instanceof LossMCXENT
                || ((OutputLayer) conf).getLossFn() instanceof LossLabelSmoothing) || inputs == null || inputs.size() != 1
                || !((OutputLayer) conf).hasBias()) {
            return null;
        }
        Object loss = ((OutputLayer) conf).getLossFn();
        return new BatchStatsListener(out, inputs.get(0),
                loss instanceof LossLabelSmoothing ? ((LossLabelSmoothing) loss).getSmoothing() : 0.0);
    }

    @Override
    public void onForwardPass(Model model, Map<String, INDArray> activations) {
        INDArray in = activations.get(inputName);
        if (in == null || in.rank() != 2) {
            logits = null;
            return;
        }
        Layer fc = ((ComputationGraph) model).getLayer(outputName);
        INDArray w = fc.getParam("W");
        INDArray b = fc.getParam("b");
        logits = in.castTo(DataType.DOUBLE).mmul(w.castTo(DataType.DOUBLE)).addiRowVector(b.castTo(DataType.DOUBLE));
    }

    /**
     * For the batch just fitted: {mean cross-entropy, number of correct predictions}, from the logits before
     * the step's update; {NaN, NaN} if no forward pass was seen.
     */
    double[] lossAndCorrect(INDArray labels) {
        if (logits == null || logits.size(0) != labels.size(0)) {
            return new double[] {Double.NaN, Double.NaN};
        }
        double[][] z = logits.toDoubleMatrix();
        double[][] y = labels.toDoubleMatrix();
        int[] target = labels.argMax(1).toIntVector();
        logits = null;
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < z.length; i++) {
            double max = Double.NEGATIVE_INFINITY;
            int arg = 0;
            for (int k = 0; k < z[i].length; k++) {
                if (z[i][k] > max) {
                    max = z[i][k];
                    arg = k;
                }
            }
            double sum = 0;
            for (double v : z[i]) {
                sum += Math.exp(v - max);
            }
            double logSumExp = max + Math.log(sum);
            for (int k = 0; k < z[i].length; k++) {
                double t = (1 - smoothing) * y[i][k] + smoothing / z[i].length;
                loss += t == 0 ? 0 : t * (logSumExp - z[i][k]);
            }
            correct += arg == target[i] ? 1 : 0;
        }
        return new double[] {loss / z.length, correct};
    }
}
