package org.regularize4j.resnet;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.Scaling;
import org.regularize4j.testutil.DoublePrecision;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DL4J gradient checks (double precision; double runs libnd4j's generic kernels, not oneDNN) of tiny
 * ResNets from the builder and of a bottleneck block, with stochastic-depth decisions held fixed (they do
 * not change within an iteration). The batch-norm running statistics are excluded: their "gradients" are
 * the running-average updates, not derivatives of the loss. ReLU kinks: inputs are random, so no
 * pre-activation lies within the finite-difference step of 0 in practice; a failure would show as one
 * isolated parameter. Absolute differences below 1e-8 pass (DL4J's default), since a central difference of a score near 1
 * with step 1e-6 carries about 1e-10 of rounding error.
 */
@ExtendWith(DoublePrecision.class)
class ResNetGradientCheckTest {

    static ResNet tiny(ShortcutType shortcut) {
        return ResNet.cifar(8).inputShape(2, 5, 5).numClasses(3).widthMultiplier(0.125).shortcut(shortcut)
                .dataType(DataType.DOUBLE).updater(new NoOp()).seed(3);
    }

    static boolean check(ComputationGraph net, int mb, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.DOUBLE, mb, 2, 5, 5).subi(0.5).muli(2);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, mb, 3);
        for (int i = 0; i < mb; i++) {
            y.putScalar(i, i % 3, 1.0);
        }
        Set<String> exclude = new HashSet<>();
        for (String k : net.paramTable().keySet()) {
            if (k.endsWith("Mean") || k.endsWith("Var")) {
                exclude.add(k);
            }
        }
        return GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(net)
                .inputs(new INDArray[] {x}).labels(new INDArray[] {y}).excludeParams(exclude)
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-8));
    }

    @Test
    void cifarOptionA() {
        assertTrue(check(tiny(ShortcutType.ZERO_PAD).build(), 5, 1));
    }

    @Test
    void cifarOptionB() {
        assertTrue(check(tiny(ShortcutType.PROJECTION).build(), 5, 2));
    }

    /** Row-mode stochastic depth with a batch holding both kept and dropped examples in every block. */
    @Test
    void rowModeStochasticDepth() {
        ComputationGraph net = null;
        for (long seed = 1; net == null; seed++) {
            ComputationGraph candidate = tiny(ShortcutType.ZERO_PAD).seed(seed)
                    .stochasticDepth(DepthSchedule.constant(0.5), DropMode.ROW).build();
            candidate.output(true, Nd4j.rand(DataType.DOUBLE, 6, 2, 5, 5));
            boolean mixed = true;
            for (Layer l : candidate.getLayers()) {
                if (l instanceof ResidualBlockImpl) {
                    int kept = ((ResidualBlockImpl) l).getLastScales().keptCount();
                    mixed &= kept > 0 && kept < 6;
                }
            }
            net = mixed ? candidate : null;
        }
        assertTrue(check(net, 6, 4));
    }

    /** Batch mode with some blocks dropped (skipped) and some kept, at-inference scaling. */
    @Test
    void batchModeWithSkippedBlocks() {
        ComputationGraph net = null;
        for (long seed = 1; net == null; seed++) {
            ComputationGraph candidate = tiny(ShortcutType.PROJECTION).seed(seed)
                    .stochasticDepth(DepthSchedule.constant(0.5), DropMode.BATCH, Scaling.AT_INFERENCE).build();
            candidate.output(true, Nd4j.rand(DataType.DOUBLE, 5, 2, 5, 5));
            int skipped = 0;
            for (Layer l : candidate.getLayers()) {
                if (l instanceof ResidualBlockImpl && !((ResidualBlockImpl) l).wasBranchComputed()) {
                    skipped++;
                }
            }
            net = skipped > 0 && skipped < 3 ? candidate : null;
        }
        assertTrue(check(net, 5, 5));
    }

    @Test
    void bottleneckBlock() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.DOUBLE)
                .updater(new NoOp()).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(5, 5, 2))
                .addLayer("stem", new ConvBnLayer.Builder().nOut(4).kernelSize(3).build(), "in")
                .addLayer("b1", new ResidualBlock.Builder().blockType(BlockType.BOTTLENECK).nOut(8)
                        .bottleneckWidth(2).stride(2).build(), "stem")
                .addLayer("b2", new ResidualBlock.Builder().blockType(BlockType.BOTTLENECK).nOut(8)
                        .bottleneckWidth(2).build(), "b1")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "b2")
                .addLayer("fc", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("fc").build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        assertTrue(check(net, 4, 6));
    }
}
