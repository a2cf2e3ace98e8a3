package org.regularize4j.resnet;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.testutil.DoublePrecision;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A DL4J gradient check (double precision, NCHW path) of a tiny ResNet with DropBlock on its last two stages: the
 * masks are a function of (seed, iteration, epoch, block, unit) and stay fixed during the check; every mask of the
 * checked pass has dropped and kept activations. See {@link ResNetGradientCheckTest} for the tolerances.
 */
@ExtendWith(DoublePrecision.class)
class ResNetDropBlockGradientCheckTest {

    @Test
    void gradientCheckWithFixedMasks() {
        ComputationGraph net = null;
        for (long seed = 1; net == null && seed < 100; seed++) {
            ComputationGraph candidate = ResNetGradientCheckTest.tiny(ShortcutType.ZERO_PAD).seed(seed).dropBlock(0.5)
                    .build();
            Nd4j.getRandom().setSeed(7);
            INDArray x = Nd4j.rand(DataType.DOUBLE, 5, 2, 5, 5).subi(0.5).muli(2);
            candidate.feedForward(new INDArray[] {x}, true, false);
            List<INDArray> masks = ResNetDropBlockTest.masks(candidate);
            boolean mixed = masks.size() == 4;
            for (INDArray m : masks) {
                long kept = m.neq(0).castTo(DataType.INT).sumNumber().longValue();
                mixed &= kept > 0 && kept < m.length();
            }
            net = mixed ? candidate : null;
        }
        assertNotNull(net, "no seed gave mixed masks");
        assertTrue(ResNetGradientCheckTest.check(net, 5, 7));
    }

}
