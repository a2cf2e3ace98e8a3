package org.regularize4j.testutil;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

/**
 * A classification problem where sparsity pays: {@value #FEATURES} features uniform in [-1, 1], of which only
 * the first {@value #INFORMATIVE} decide the label (the argmax of a fixed random linear map to
 * {@value #CLASSES} classes). A network that ignores the other 25 loses nothing, so an L1 penalty that zeroes
 * their weights costs no accuracy. Used by the sparsity tests of ProximalL1.
 */
public final class SparseClassification {
    public static final int FEATURES = 30;
    public static final int INFORMATIVE = 5;
    public static final int CLASSES = 3;

    private SparseClassification() {
    }

    /** {@code n} examples drawn with {@code seed}; the labelling rule is the same for every seed. */
    public static DataSet data(int n, long seed) {
        Random r = new Random(seed);
        double[][] mix = new double[INFORMATIVE][CLASSES];
        Random fixed = new Random(1234);   // the same labelling rule for train and test
        for (double[] row : mix) {
            for (int c = 0; c < CLASSES; c++) {
                row[c] = fixed.nextGaussian();
            }
        }
        double[][] x = new double[n][FEATURES];
        double[][] y = new double[n][CLASSES];
        for (int i = 0; i < n; i++) {
            for (int f = 0; f < FEATURES; f++) {
                x[i][f] = r.nextDouble() * 2 - 1;
            }
            int best = 0;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < CLASSES; c++) {
                double s = 0;
                for (int f = 0; f < INFORMATIVE; f++) {
                    s += x[i][f] * mix[f][c];
                }
                if (s > bestScore) {
                    bestScore = s;
                    best = c;
                }
            }
            y[i][best] = 1;
        }
        return new DataSet(Nd4j.createFromArray(x).castTo(DataType.FLOAT), Nd4j.createFromArray(y)
                .castTo(DataType.FLOAT));
    }
}
