package org.regularize4j.cli;

import org.regularize4j.examples.DropPathQuickstart;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code quickstart}: trains {@link DropPathQuickstart}'s residual network with stochastic depth and prints
 * its loss falling; ends with a JSON line.
 *
 * <pre>{@code
 * int exitCode = Main.run("quickstart", "--blocks", "2", "--epochs", "3");
 * }</pre>
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Train a small residual network with stochastic depth on a synthetic spiral.")
final class QuickstartCommand implements Callable<Integer> {
    @Option(names = "--blocks", defaultValue = "4", description = "Residual blocks (>= 1). Default: ${DEFAULT-VALUE}")
    int blocks;
    @Option(names = "--drop-path", defaultValue = "0.3",
            description = "Drop probability of the last block, linear schedule, in [0, 1]. Default: ${DEFAULT-VALUE}")
    double dropPath;
    @Option(names = "--epochs", defaultValue = "60", description = "Epochs (>= 1). Default: ${DEFAULT-VALUE}")
    int epochs;
    @Option(names = "--seed", defaultValue = "42", description = "Random seed. Default: ${DEFAULT-VALUE}")
    long seed;

    @Override
    public Integer call() {
        long start = System.nanoTime();
        DropPathQuickstart.Result r = DropPathQuickstart.run(blocks, dropPath, epochs, seed);
        List<Double> losses = r.epochLosses();
        System.out.printf(Locale.ROOT, "{\"first_epoch_loss\": %.5f, \"final_loss\": %.5f, \"test_accuracy\": %.4f,"
                        + " \"epochs\": %d, \"seconds\": %.1f}%n", losses.get(0), losses.get(losses.size() - 1),
                r.testAccuracy(), epochs, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
