package org.regularize4j.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * Inference over a data set: mean cross-entropy, accuracy and the confusion matrix (rows: true class, columns:
 * predicted class), in one pass.
 *
 * <pre>{@code
 * Evaluator.Result r = Evaluator.evaluate(net, FashionMnist.bundled(FashionMnist.Split.TEST).iterator(256));
 * double accuracy = r.accuracy();
 * }</pre>
 */
final class Evaluator {
    private Evaluator() {
    }

    /** What {@link #evaluate} measured. */
    record Result(int examples, double loss, double accuracy, int[][] confusion) {
        /** Recall of each class: the diagonal over the row sums. */
        double[] classAccuracy() {
            double[] out = new double[confusion.length];
            for (int r = 0; r < confusion.length; r++) {
                long total = 0;
                for (int v : confusion[r]) {
                    total += v;
                }
                out[r] = total == 0 ? Double.NaN : confusion[r][r] / (double) total;
            }
            return out;
        }
    }

    /** Evaluates {@code net} on every batch of {@code data} (rewound first), in inference mode. */
    static Result evaluate(ComputationGraph net, DataSetIterator data) {
        if (data.resetSupported()) {
            data.reset();
        }
        int classes = data.totalOutcomes();
        int[][] confusion = new int[classes][classes];
        double lossSum = 0;
        int n = 0;
        int correct = 0;
        while (data.hasNext()) {
            DataSet batch = data.next();
            INDArray probs = net.outputSingle(false, batch.getFeatures());
            float[][] p = probs.toFloatMatrix();
            int[] target = batch.getLabels().argMax(1).toIntVector();
            for (int i = 0; i < p.length; i++) {
                int arg = 0;
                for (int k = 1; k < p[i].length; k++) {
                    if (p[i][k] > p[i][arg]) {
                        arg = k;
                    }
                }
                confusion[target[i]][arg]++;
                correct += arg == target[i] ? 1 : 0;
                lossSum -= Math.log(Math.max(p[i][target[i]], 1e-12));
                n++;
            }
        }
        return new Result(n, n == 0 ? Double.NaN : lossSum / n, n == 0 ? Double.NaN : correct / (double) n, confusion);
    }
}
