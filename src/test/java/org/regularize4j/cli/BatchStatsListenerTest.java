package org.regularize4j.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.regularize4j.loss.LossLabelSmoothing;
import org.regularize4j.mix.Mixup;
import org.regularize4j.resnet.ResNet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The training-batch loss that {@code train} reports is the loss the step minimized (without penalties): the
 * label-smoothed cross-entropy, against soft (mixed) labels too, computed from the logits of the step's forward pass.
 */
class BatchStatsListenerTest {

    @Test
    void reportsTheSmoothedLossOfMixedLabels() {
        for (double eps : new double[] {0.0, 0.1}) {
            ResNet r = ResNet.cifar(8).inputShape(1, 8, 8).numClasses(4).seed(3);
            ComputationGraph net = (eps > 0 ? r.loss(new LossLabelSmoothing(eps)) : r).build();
            BatchStatsListener stats = BatchStatsListener.forNet(net);
            assertNotNull(stats);
            net.addListeners(stats);
            Nd4j.getRandom().setSeed(5);
            DataSet batch = new DataSet(Nd4j.rand(DataType.FLOAT, 8, 1, 8, 8),
                    Nd4j.eye(4).getRows(0, 1, 2, 3, 0, 1, 2, 3).castTo(DataType.FLOAT));
            Mixup.builder().mixupAlpha(1.0).labelSmoothing(0).seed(2).build().apply(batch, 0);
            INDArray pooled = net.feedForward(new INDArray[] {batch.getFeatures()}, true, false).get("pool");
            INDArray logits = pooled.mmul(net.getLayer("fc").getParam("W"))
                    .addRowVector(net.getLayer("fc").getParam("b"));
            ActivationSoftmax softmax = new ActivationSoftmax();
            double expected = eps > 0
                    ? new LossLabelSmoothing(eps).computeScore(batch.getLabels(), logits, softmax, null, true)
                    : new LossMCXENT().computeScore(batch.getLabels(), logits, softmax, null, true);
            net.fit(batch);
            double[] lossAndCorrect = stats.lossAndCorrect(batch.getLabels());
            assertEquals(expected, lossAndCorrect[0], 1e-4 * expected, "smoothing " + eps);
            int correct = 0;
            int[] predicted = logits.argMax(1).toIntVector();
            int[] target = batch.getLabels().argMax(1).toIntVector();
            for (int i = 0; i < 8; i++) {
                correct += predicted[i] == target[i] ? 1 : 0;
            }
            assertEquals(correct, lossAndCorrect[1]);
        }
    }
}
