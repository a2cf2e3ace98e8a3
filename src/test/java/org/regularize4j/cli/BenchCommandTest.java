package org.regularize4j.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bench --baseline}: the network without stochastic depth timed in the same process, and its ratio. */
class BenchCommandTest {

    @Test
    void baselineReportsBothMediansAndTheirRatio() {
        CliRun run = CliRun.of("bench", "--model", "resnet8", "--batch", "4", "--iters", "3", "--warmup", "1",
                "--input", "3x8x8", "--drop-path", "0.5", "--drop-mode", "batch", "--baseline");
        assertEquals(0, run.exitCode(), run.err());
        String json = run.lastLine();
        java.util.regex.Matcher ms = java.util.regex.Pattern.compile("\"ms_per_iter\": ([0-9.]+)").matcher(json);
        java.util.regex.Matcher base = java.util.regex.Pattern.compile("\"baseline_ms_per_iter\": ([0-9.]+)").matcher(json);
        java.util.regex.Matcher ratio = java.util.regex.Pattern.compile("\"ratio_to_baseline\": ([0-9.]+)").matcher(json);
        assertTrue(ms.find() && base.find() && ratio.find(), json);
        double expected = Double.parseDouble(ms.group(1)) / Double.parseDouble(base.group(1));
        assertEquals(expected, Double.parseDouble(ratio.group(1)), 0.01 * expected, json);
        assertTrue(run.out().contains("without stochastic depth (alternating)"), run.out());
    }

    @Test
    void withoutBaselineTheFieldsAreNull() {
        CliRun run = CliRun.of("bench", "--model", "resnet8", "--batch", "2", "--iters", "1", "--warmup", "0",
                "--input", "3x8x8");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.lastLine().contains("\"baseline_ms_per_iter\": null, \"ratio_to_baseline\": null"),
                run.lastLine());
    }

    @Test
    void baselineNeedsStochasticDepthAndTraining() {
        CliRun run = CliRun.of("bench", "--model", "resnet8", "--batch", "2", "--iters", "1", "--baseline");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("--baseline") && run.err().contains("--drop-path > 0"), run.err());
        run = CliRun.of("bench", "--model", "resnet8", "--batch", "2", "--iters", "1", "--drop-path", "0.2",
                "--inference", "--baseline");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("no --inference"), run.err());
    }

    /** {@code bench --ema}: the same network with and without a model EMA, alternating. */
    @Test
    void emaIsTimedAgainstTheSameNetworkWithout() {
        CliRun run = CliRun.of("bench", "--model", "resnet8", "--batch", "4", "--iters", "3", "--warmup", "1",
                "--input", "3x8x8", "--ema", "0.99");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("without the model EMA (alternating)"), run.out());
        assertTrue(run.lastLine().contains("\"ema\": 0.99") && !run.lastLine().contains("\"ratio_to_baseline\": null"),
                run.lastLine());
        run = CliRun.of("bench", "--model", "resnet8", "--batch", "2", "--iters", "1", "--ema", "1");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("--ema compares training steps with and without a model EMA"), run.err());
        run = CliRun.of("bench", "--model", "resnet8", "--batch", "2", "--iters", "1", "--ema", "0.9", "--inference");
        assertEquals(2, run.exitCode());
    }

    /** The batch recipe (train's Mixup/CutMix and random erasing) is applied every step and timed apart. */
    @Test
    void batchRecipeIsTimedApart() {
        CliRun run = CliRun.of("bench", "--model", "resnet8", "--batch", "4", "--iters", "3", "--warmup", "1",
                "--input", "1x8x8", "--mixup", "0.8", "--cutmix", "1.0", "--random-erase", "0.25");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("batch recipe (mixup 0.8, cutmix 1.0 (prob 1.0, switch 0.5), random erasing 0.25"),
                run.out());
        assertTrue(run.lastLine().matches(".*\"recipe_ms_per_iter\": [0-9.]+,.*"), run.lastLine());
        assertTrue(CliRun.of("bench", "--model", "resnet8", "--iters", "1").lastLine()
                .contains("\"recipe_ms_per_iter\": null"));
        run = CliRun.of("bench", "--model", "resnet8", "--iters", "1", "--mixup", "-1");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("--mixup must be finite and >= 0, got -1.0"), run.err());
        run = CliRun.of("bench", "--model", "resnet8", "--iters", "1", "--random-erase", "0.5", "--inference");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("apply to training steps"), run.err());
    }

    /** Channels-last input, inference with and without folding, and the convolution FLOP accounting. */
    @Test
    void memoryFormatFoldingAndConvolutionFlops() {
        CliRun run = CliRun.of("bench", "--model", "resnet8", "--batch", "4", "--iters", "2", "--warmup", "1",
                "--input", "3x8x8", "--memory-format", "nhwc", "--inference", "--fold-batch-norm", "false");
        assertEquals(0, run.exitCode(), run.err());
        String json = run.lastLine();
        assertTrue(json.contains("\"memory_format\": \"nhwc\"") && json.contains("\"fold_batch_norm\": false"), json);
        assertTrue(run.out().contains("images/s") && run.out().contains("(batch norm not folded)"), run.out());
        assertTrue(org.regularize4j.backend.KernelPaths.foldsBatchNorm(), "the process-wide switch is restored");
        // resnet8 on 3x8x8, batch 4: stem 3->16 (8x8), stage 1 two 16->16 3x3, stage 2 16->32 stride 2 (4x4) with a
        // 1x1 projection and 32->32, stage 3 32->64 stride 2 (2x2) with a projection and 64->64: forward FLOPs
        // 2 * 4 * (64*16*27 + 2*64*16*144 + 16*32*144 + 16*32*16 + 16*32*288 + 4*64*288 + 4*64*32 + 4*64*576)
        double forward = 2.0 * 4 * (64 * 16 * 27 + 2 * 64 * 16 * 144 + 16 * 32 * 144 + 16 * 32 * 16 + 16 * 32 * 288
                + 4 * 64 * 288 + 4 * 64 * 32 + 4 * 64 * 576);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"conv_gflop_per_iter\": ([0-9.]+)").matcher(json);
        assertTrue(m.find(), json);
        assertEquals(forward / 1e9, Double.parseDouble(m.group(1)), 2e-6, json);

        // folded, and each block in ranges of 16 examples (a 32-example batch in 2): the same FLOPs per example
        run = CliRun.of("bench", "--model", "resnet8", "--batch", "32", "--iters", "2", "--warmup", "1",
                "--input", "3x8x8", "--memory-format", "nhwc", "--inference", "--inference-chunk-bytes",
                String.valueOf(16 * 16 * 8 * 8 * 4));
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.lastLine().contains("\"fold_batch_norm\": true"), run.lastLine());
        m = java.util.regex.Pattern.compile("\"conv_gflop_per_iter\": ([0-9.]+)").matcher(run.lastLine());
        assertTrue(m.find(), run.lastLine());
        assertEquals(8 * forward / 1e9, Double.parseDouble(m.group(1)), 2e-6, "folded: every convolution counted");
        assertEquals(org.regularize4j.backend.KernelPaths.DEFAULT_CHUNK_BYTES,
                org.regularize4j.backend.KernelPaths.inferenceChunkBytes(), "the process-wide setting is restored");
        run = CliRun.of("bench", "--model", "resnet8", "--batch", "2", "--iters", "1", "--inference",
                "--inference-chunk-bytes", "-5");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("--inference-chunk-bytes"), run.err());

        run = CliRun.of("bench", "--model", "resnet8", "--batch", "4", "--iters", "2", "--warmup", "1",
                "--input", "3x8x8", "--conv-peak");
        assertEquals(0, run.exitCode(), run.err());
        m = java.util.regex.Pattern.compile("\"conv_gflop_per_iter\": ([0-9.]+)").matcher(run.lastLine());
        assertTrue(m.find(), run.lastLine());
        // training: forward and both gradients, but no input gradient of the stem (the data's) where it is skipped
        // (the channels-last path; the NCHW paths compute it and drop it)
        double stemInputGradient = org.regularize4j.backend.KernelPaths.channelsLastAvailable() ? 2.0 * 4 * 64 * 16 * 27
                : 0;
        assertEquals((3 * forward - stemInputGradient) / 1e9, Double.parseDouble(m.group(1)), 2e-6,
                "training: forward and both gradients, but the stem's input gradient where it is skipped");
        assertTrue(run.out().contains("convolution peak"), run.out());

        run = CliRun.of("bench", "--model", "resnet8", "--batch", "2", "--iters", "1", "--memory-format", "nhcw");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("--memory-format must be nchw or nhwc, got nhcw"), run.err());
    }
}
