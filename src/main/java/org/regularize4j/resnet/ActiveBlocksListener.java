package org.regularize4j.resnet;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Records, after every training iteration, which residual blocks computed their branch (in BATCH mode a
 * dropped block is skipped entirely), and optionally logs it every {@code logEvery} iterations.
 *
 * <pre>{@code
 * ActiveBlocksListener blocks = new ActiveBlocksListener(0);   // 0: record only, never log
 * net.addListeners(blocks);
 * net.fit(data);
 * List<String> active = blocks.lastActive();       // e.g. [stage1.block1, stage1.block3, ...]
 * double share = blocks.computedShare();           // computed branches / possible, over all iterations
 * }</pre>
 */
public class ActiveBlocksListener extends BaseTrainingListener {
    private static final Logger log = LoggerFactory.getLogger(ActiveBlocksListener.class);

    private final int logEvery;
    private final Map<String, long[]> counts = new LinkedHashMap<>();   // name -> {computed, iterations}
    private List<String> lastActive = List.of();
    private List<String> lastSkipped = List.of();

    /** @param logEvery log the active blocks every this many iterations; 0 never logs */
    public ActiveBlocksListener(int logEvery) {
        this.logEvery = Checks.atLeast("logEvery", logEvery, 0);
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        if (!(model instanceof ComputationGraph)) {
            return;
        }
        List<String> active = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (Layer l : ((ComputationGraph) model).getLayers()) {
            if (l instanceof ResidualBlockImpl) {
                String name = l.conf().getLayer().getLayerName();
                boolean computed = ((ResidualBlockImpl) l).wasBranchComputed();
                long[] c = counts.computeIfAbsent(name, k -> new long[2]);
                c[0] += computed ? 1 : 0;
                c[1]++;
                (computed ? active : skipped).add(name);
            }
        }
        lastActive = Collections.unmodifiableList(active);
        lastSkipped = Collections.unmodifiableList(skipped);
        if (logEvery > 0 && iteration % logEvery == 0) {
            log.info("iteration {}: {} of {} residual branches computed; skipped {}", iteration, active.size(),
                    active.size() + skipped.size(), skipped);
        }
    }

    /** Blocks whose branch was computed in the last iteration. */
    public List<String> lastActive() {
        return lastActive;
    }

    /** Blocks skipped (dropped in BATCH mode, or every example dropped) in the last iteration. */
    public List<String> lastSkipped() {
        return lastSkipped;
    }

    /** Fraction of iterations in which each block computed its branch, by block name. */
    public Map<String, Double> computedFractionByBlock() {
        Map<String, Double> out = new LinkedHashMap<>();
        counts.forEach((k, v) -> out.put(k, v[1] == 0 ? 1.0 : v[0] / (double) v[1]));
        return out;
    }

    /** Computed branches over possible ones, over all recorded iterations (1 before any). */
    public double computedShare() {
        long computed = 0;
        long possible = 0;
        for (long[] v : counts.values()) {
            computed += v[0];
            possible += v[1];
        }
        return possible == 0 ? 1.0 : computed / (double) possible;
    }

    /** Forgets what was recorded. */
    public void reset() {
        counts.clear();
        lastActive = List.of();
        lastSkipped = List.of();
    }
}
