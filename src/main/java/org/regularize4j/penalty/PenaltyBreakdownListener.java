package org.regularize4j.penalty;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.solvers.BaseOptimizer;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Records, every {@code frequency} iterations, how the network's score splits into data loss and each penalty
 * ({@link PenaltyTable#breakdown()}: weight penalties by kind and coefficient, activity penalties by layer), and
 * logs it at INFO through slf4j. It runs right after the backward pass, where the score and the parameters
 * are those of the same step (before the update).
 *
 * <pre>{@code
 * PenaltyBreakdownListener breakdown = new PenaltyBreakdownListener(10);
 * net.setListeners(breakdown);             // net: an initialized network
 * net.fit(new DataSet(features, labels));
 * double dataLoss = breakdown.getLastDataLoss();
 * Map<String, Double> byPenalty = breakdown.getLastBreakdown();
 * }</pre>
 */
public class PenaltyBreakdownListener extends BaseTrainingListener implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger log = LoggerFactory.getLogger(PenaltyBreakdownListener.class);

    private final int frequency;
    private volatile Map<String, Double> lastBreakdown = Collections.emptyMap();
    private volatile double lastScore = Double.NaN;
    private volatile double lastDataLoss = Double.NaN;
    private volatile int lastIteration = -1;

    /** @param frequency record every this many iterations, {@code >= 1} */
    public PenaltyBreakdownListener(int frequency) {
        this.frequency = Checks.atLeast("frequency", frequency, 1);
    }

    @Override
    public void onBackwardPass(Model model) {
        int iteration = BaseOptimizer.getIterationCount(model);
        if (iteration % frequency != 0) {
            return;
        }
        PenaltyTable table = PenaltyTable.of(model);
        Map<String, Double> b = new LinkedHashMap<>(table.breakdown());
        double score = model.score();
        lastBreakdown = Collections.unmodifiableMap(b);
        lastScore = score;
        lastDataLoss = score - table.total();
        lastIteration = iteration;
        if (log.isInfoEnabled()) {
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<String, Double> e : b.entrySet()) {
                sb.append(" + ").append(e.getKey()).append(' ').append(String.format("%.6g", e.getValue()));
            }
            log.info("iteration {}: score {} = data loss {}{}", iteration, String.format("%.6g", score),
                    String.format("%.6g", lastDataLoss), sb);
        }
    }

    /** Score of each penalty at the last recorded iteration (empty before the first). */
    public Map<String, Double> getLastBreakdown() {
        return lastBreakdown;
    }

    /** The network's score at the last recorded iteration. */
    public double getLastScore() {
        return lastScore;
    }

    /** Score minus all penalties at the last recorded iteration. */
    public double getLastDataLoss() {
        return lastDataLoss;
    }

    /** The last recorded iteration, -1 before the first. */
    public int getLastIteration() {
        return lastIteration;
    }
}
