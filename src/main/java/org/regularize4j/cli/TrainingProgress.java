package org.regularize4j.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.regularize4j.util.Checks;

import java.io.PrintStream;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/**
 * A console progress bar over the images of one epoch (me.tongfei:progressbar): percentage, bar, images done,
 * elapsed and remaining time, images per second and a message such as the running loss and accuracy:
 * <pre>
 * epoch  3/15  64% │████████████▊       │ 6400/10000 img (0:00:10 / 0:00:06) 633 img/s loss 0.4137 acc 85.2%
 * </pre>
 * On a terminal the line redraws in place a few times a second; when the output is not a terminal (a log file,
 * CI) it is drawn in plain ASCII every few seconds. {@link #close()} draws the final state and ends the line.
 *
 * <pre>{@code
 * try (TrainingProgress bar = TrainingProgress.start("epoch 1/3", 1000, System.out)) {
 *     for (int done = 0; done < 1000; done += 100) {
 *         bar.advance(100, "loss 0.41");
 *     }
 * }
 * }</pre>
 */
public final class TrainingProgress implements AutoCloseable {
    private final ProgressBar bar;
    private final Consumer consumer;

    private TrainingProgress(ProgressBar bar, Consumer consumer) {
        this.bar = bar;
        this.consumer = consumer;
    }

    /** The library's console consumer, remembering whether it ended its line. */
    private static final class Consumer extends ConsoleProgressBarConsumer {
        private volatile boolean closed;

        Consumer(PrintStream out, int maxRenderedLength) {
            super(out, maxRenderedLength);
        }

        @Override
        public void close() {
            super.close();
            closed = true;
        }
    }

    /**
     * A bar that redraws in place when {@code out} is the console, plain otherwise.
     *
     * @param task        what is running, e.g. {@code epoch 3/15}
     * @param totalImages the images of the epoch, {@code >= 1}
     */
    public static TrainingProgress start(String task, long totalImages, PrintStream out) {
        return start(task, totalImages, out, out == System.out && System.console() != null);
    }

    /** As {@link #start(String, long, PrintStream)}, saying whether {@code out} is an interactive terminal. */
    public static TrainingProgress start(String task, long totalImages, PrintStream out, boolean interactive) {
        Checks.notNull("task", task);
        Checks.notNull("out", out);
        if (totalImages < 1) {
            throw new IllegalArgumentException("totalImages must be >= 1, got " + totalImages);
        }
        ProgressBarBuilder b = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(totalImages)
                .setUnit(" img", 1)
                .showSpeed(new DecimalFormat("0", DecimalFormatSymbols.getInstance(Locale.ROOT)))
                .setSpeedUnit(ChronoUnit.SECONDS)
                .setStyle(interactive ? ProgressBarStyle.UNICODE_BLOCK : ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(interactive ? 250 : 5000);
        // On a terminal the library measures its width (a non-positive length); elsewhere a fixed 120 columns.
        Consumer consumer = new Consumer(out, interactive ? -1 : 120);
        b.setConsumer(consumer);
        return new TrainingProgress(b.build(), consumer);
    }

    /** Counts {@code images} more images done and shows {@code message} after the speed. */
    public void advance(long images, String message) {
        bar.setExtraMessage(message == null ? "" : " " + message);
        bar.stepBy(images);
    }

    /** Images done so far. */
    public long done() {
        return bar.getCurrent();
    }

    /** Draws the final state and ends the line. */
    @Override
    public void close() {
        bar.close();
        if (!consumer.closed) {
            // progressbar 0.10.1: closed before its first scheduled drawing ran, the bar draws once and does not
            // end its line; a second close() finishes it
            bar.close();
        }
    }

    /** {@code h:mm:ss}, e.g. {@code 0:03:07}. */
    static String duration(double seconds) {
        long s = Math.max(0, Math.round(seconds));
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
    }
}
