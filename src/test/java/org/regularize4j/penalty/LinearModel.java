package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A one-layer linear regression (identity activation, MSE loss) in DL4J and, independently, in plain Java
 * doubles: data loss {@code mean_n sum_j (z - y)² / nOut} with {@code z = x W + b}, whose gradient
 * {@code (2 / (nOut * mb)) X^T (Z - Y)} the reference computes by hand. Exact-update tests compare the network's
 * parameters after each step with the reference.
 */
final class LinearModel {
    static final int N_IN = 3;
    static final int N_OUT = 2;
    static final int MB = 4;

    final double[][] x = new double[MB][N_IN];
    final double[][] y = new double[MB][N_OUT];
    final DataSet data;

    LinearModel(long seed) {
        Random r = new Random(seed);
        for (int n = 0; n < MB; n++) {
            for (int i = 0; i < N_IN; i++) {
                x[n][i] = r.nextDouble() * 2 - 1;
            }
            for (int j = 0; j < N_OUT; j++) {
                y[n][j] = r.nextDouble() * 2 - 1;
            }
        }
        data = new DataSet(Nd4j.createFromArray(x), Nd4j.createFromArray(y));
    }

    MultiLayerNetwork network(IUpdater updater) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.DOUBLE)
                .updater(updater).list()
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(N_IN).nOut(N_OUT)
                        .activation(Activation.IDENTITY).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** W [N_IN][N_OUT] and b [N_OUT] read from the network. */
    static double[][] weights(MultiLayerNetwork net) {
        INDArray w = net.getParam("0_W");
        double[][] out = new double[N_IN][N_OUT];
        for (int i = 0; i < N_IN; i++) {
            for (int j = 0; j < N_OUT; j++) {
                out[i][j] = w.getDouble(i, j);
            }
        }
        return out;
    }

    static double[] bias(MultiLayerNetwork net) {
        INDArray b = net.getParam("0_b");
        double[] out = new double[N_OUT];
        for (int j = 0; j < N_OUT; j++) {
            out[j] = b.getDouble(j);   // linear index: DL4J biases are [nOut] or [1, nOut]
        }
        return out;
    }

    /** dL/dz per example: 2 (z - y) / nOut. */
    double[][] dz(double[][] w, double[] b) {
        double[][] d = new double[MB][N_OUT];
        for (int n = 0; n < MB; n++) {
            for (int j = 0; j < N_OUT; j++) {
                double z = b[j];
                for (int i = 0; i < N_IN; i++) {
                    z += x[n][i] * w[i][j];
                }
                d[n][j] = 2 * (z - y[n][j]) / N_OUT;
            }
        }
        return d;
    }

    double[][] gradW(double[][] w, double[] b) {
        double[][] d = dz(w, b);
        double[][] g = new double[N_IN][N_OUT];
        for (int i = 0; i < N_IN; i++) {
            for (int j = 0; j < N_OUT; j++) {
                for (int n = 0; n < MB; n++) {
                    g[i][j] += x[n][i] * d[n][j];
                }
                g[i][j] /= MB;
            }
        }
        return g;
    }

    double[] gradB(double[][] w, double[] b) {
        double[][] d = dz(w, b);
        double[] g = new double[N_OUT];
        for (int j = 0; j < N_OUT; j++) {
            for (int n = 0; n < MB; n++) {
                g[j] += d[n][j];
            }
            g[j] /= MB;
        }
        return g;
    }

    double dataLoss(double[][] w, double[] b) {
        double s = 0;
        for (int n = 0; n < MB; n++) {
            for (int j = 0; j < N_OUT; j++) {
                double z = b[j];
                for (int i = 0; i < N_IN; i++) {
                    z += x[n][i] * w[i][j];
                }
                s += (z - y[n][j]) * (z - y[n][j]) / N_OUT;
            }
        }
        return s / MB;
    }

    static void assertClose(double[][] expected, double[][] actual, double rel, String what) {
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) {
                assertClose(expected[i][j], actual[i][j], rel, what + "[" + i + "][" + j + "]");
            }
        }
    }

    static void assertClose(double[] expected, double[] actual, double rel, String what) {
        for (int j = 0; j < expected.length; j++) {
            assertClose(expected[j], actual[j], rel, what + "[" + j + "]");
        }
    }

    static void assertClose(double expected, double actual, double rel, String what) {
        assertEquals(expected, actual, rel * Math.abs(expected) + 1e-15, what);
    }

    static double[][] copy(double[][] a) {
        double[][] c = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i].clone();
        }
        return c;
    }
}
