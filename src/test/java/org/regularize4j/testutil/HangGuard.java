package org.regularize4j.testutil;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a data-parallel training again when DL4J hangs it. DL4J M2.1's shared-gradients mode can deadlock:
 * seen once in this suite, a ParallelWrapper worker waited forever in
 * {@code EncodedGradientsAccumulator.synchronize} (a sleep-polling barrier) while the other worker waited for
 * data (docs/distributed.md). A hang is DL4J's, not the code under test's, so the test runs the whole training
 * once more from scratch instead of stopping CI; a second hang fails the test.
 *
 * <pre>{@code
 * MultiLayerNetwork net = HangGuard.retryOnHang("shared-gradients training", () -> {
 *     MultiLayerNetwork n = newNet();
 *     try (ParallelTraining t = ParallelTraining.builder(n).mode(TrainingMode.SHARED_GRADIENTS).build()) {
 *         t.fit(data, 3);
 *     }
 *     return n;
 * });
 * }</pre>
 */
public final class HangGuard {
    private static final Logger log = LoggerFactory.getLogger(HangGuard.class);
    /** Far above any training in this suite (seconds each). */
    public static final Duration TIMEOUT = Duration.ofMinutes(3);

    private HangGuard() {
    }

    /** {@link #retryOnHang(String, Duration, int, Callable)} with {@link #TIMEOUT} and 2 attempts. */
    public static <T> T retryOnHang(String what, Callable<T> body) {
        return retryOnHang(what, TIMEOUT, 2, body);
    }

    /**
     * Runs {@code body} on a new daemon thread; if it has not returned after {@code timeout}, leaves it (its
     * threads keep waiting as daemons) and runs {@code body} again, up to {@code attempts} times. Exceptions and
     * assertion failures of {@code body} propagate unchanged.
     */
    public static <T> T retryOnHang(String what, Duration timeout, int attempts, Callable<T> body) {
        for (int attempt = 1; attempt <= attempts; attempt++) {
            FutureTask<T> task = new FutureTask<>(body);
            Thread thread = new Thread(task, "hang-guard: " + what + " #" + attempt);
            thread.setDaemon(true);
            thread.start();
            try {
                return task.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                log.warn("{} did not finish within {} (attempt {} of {}); DL4J's shared-gradients barrier can"
                        + " deadlock, running it again", what, timeout, attempt, attempts);
                thread.interrupt();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + what, e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof RuntimeException) {
                    throw (RuntimeException) cause;
                }
                if (cause instanceof Error) {
                    throw (Error) cause;
                }
                throw new IllegalStateException(what + " failed", cause);
            }
        }
        throw new AssertionError(what + " hung " + attempts + " times (" + timeout + " each)");
    }
}
