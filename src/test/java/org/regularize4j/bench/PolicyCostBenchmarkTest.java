package org.regularize4j.bench;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.regularize4j.penalty.DecoupledWeightDecay;
import org.regularize4j.penalty.L2Penalty;
import org.regularize4j.penalty.ParamKind;
import org.regularize4j.penalty.PenaltyTable;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Not a timing: checks that each benchmark variant builds, trains and carries the penalties it claims. */
class PolicyCostBenchmarkTest {

    @ParameterizedTest
    @ValueSource(strings = {"none", "standard", "standard-decoupled", "dl4j-global-l2"})
    void variantsBuildAndTrain(String variant) {
        PolicyCostBenchmark b = new PolicyCostBenchmark();
        b.penalty = variant;
        b.build();
        double score = b.trainingStep();
        assertTrue(Double.isFinite(score));
        ComputationGraph net = b.network();
        Object expected = variant.equals("none") ? List.of()
                : variant.equals("standard") ? List.of(new L2Penalty(PolicyCostBenchmark.WEIGHT_DECAY))
                : variant.equals("standard-decoupled") ? List.of(new DecoupledWeightDecay(PolicyCostBenchmark.WEIGHT_DECAY))
                : List.of(new L2Regularization(PolicyCostBenchmark.WEIGHT_DECAY));
        assertEquals(expected, net.getLayer("b2conv1").conf().getLayer().getRegularizationByParam("W"));
        long weights = PenaltyTable.of(net).rows().stream().filter(r -> r.getKind() == ParamKind.WEIGHT).count();
        long penalized = PenaltyTable.of(net).rows().stream().filter(r -> !r.getPenalties().isEmpty()).count();
        assertEquals(8, weights);
        assertEquals(variant.equals("none") ? 0 : 8, penalized);
    }
}
