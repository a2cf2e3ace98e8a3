package org.regularize4j.augment;

import org.regularize4j.testutil.JavaSerialization;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RandomErasing against timm's definition. A rectangle's side is the rounded square root of a real target, so its
 * area h·w can miss the target by at most (h + w)/2 + 1/4 pixels (|h − h*| ≤ 1/2, |w − w*| ≤ 1/2); the area bounds
 * below allow exactly that. Shares of Bernoulli or uniform draws allow 5 standard errors (sqrt(p(1 − p)/N)), as do
 * the mean (1/sqrt(N)) and variance (sqrt(2/N)) of N standard normal fills.
 */
class RandomErasingTest {

    private static List<RandomErasing.Box> boxes(RandomErasing e, int n, int side, int steps) {
        List<RandomErasing.Box> all = new java.util.ArrayList<>();
        for (int step = 0; step < steps; step++) {
            all.addAll(e.plan(n, side, side, step));
        }
        return all;
    }

    @Test
    void erasedAreaStaysWithinMinAreaAndMaxArea() {
        for (int side : new int[] {28, 224}) {
            RandomErasing e = RandomErasing.builder().probability(1.0).seed(1).build();
            List<RandomErasing.Box> all = boxes(e, 500, side, side == 28 ? 20 : 4);
            double a = (double) side * side;
            double lowest = 1;
            double highest = 0;
            double logAspectSum = 0;
            for (RandomErasing.Box b : all) {
                double share = b.area() / a;
                double slack = ((b.height() + b.width()) / 2.0 + 0.25) / a;
                assertTrue(share >= 0.02 - slack && share <= 1 / 3.0 + slack, "share " + share + " of " + b);
                assertTrue((b.height() + 0.5) / (b.width() - 0.5) >= 0.3 && (b.height() - 0.5) / (b.width() + 0.5)
                        <= 1 / 0.3, "aspect of " + b);
                assertTrue(b.top() >= 0 && b.top() + b.height() <= side && b.left() >= 0
                        && b.left() + b.width() <= side, b.toString());
                lowest = Math.min(lowest, share);
                highest = Math.max(highest, share);
                logAspectSum += Math.log((double) b.height() / b.width());
            }
            // the draws span the range
            assertTrue(lowest < 0.02 + 0.01 && highest > 1 / 3.0 - 0.02, "shares in [" + lowest + ", " + highest + "]");
            if (side == 224) {
                // the image is square, so the accepted aspects are symmetric around 1 (sd of log aspect < 0.7)
                assertEquals(0.0, logAspectSum / all.size(), 5 * 0.7 / Math.sqrt(all.size()));
            }
        }
    }

    @Test
    void probabilityIsTheShareOfErasedImages() {
        RandomErasing e = RandomErasing.builder().probability(0.5).seed(2).build();
        int n = 400 * 10;
        long erased = boxes(e, 400, 28, 10).stream().map(RandomErasing.Box::example).count();
        // one box per erased image (count 1): count the boxes per step to be exact
        long images = 0;
        for (int step = 0; step < 10; step++) {
            images += e.plan(400, 28, 28, step).stream().mapToInt(RandomErasing.Box::example).distinct().count();
        }
        assertEquals(images, erased);
        assertEquals(0.5, (double) images / n, 5 * Math.sqrt(0.25 / n));
    }

    @Test
    void countsAndTheAreaSplitBetweenRectangles() {
        RandomErasing three = RandomErasing.builder().probability(1.0).minCount(3).maxCount(3).seed(3).build();
        for (int step = 0; step < 5; step++) {
            List<RandomErasing.Box> bs = three.plan(100, 28, 28, step);
            assertEquals(300, bs.size());
            for (RandomErasing.Box b : bs) {
                double slack = ((b.height() + b.width()) / 2.0 + 0.25) / 784;
                assertTrue(b.area() / 784.0 >= 0.02 / 3 - slack && b.area() / 784.0 <= 1 / 9.0 + slack, b.toString());
            }
        }
        RandomErasing upTo3 = RandomErasing.builder().probability(1.0).minCount(1).maxCount(3).seed(4).build();
        int[] counts = new int[4];
        int images = 3000;
        List<RandomErasing.Box> bs = upTo3.plan(images, 28, 28, 0);
        int[] perImage = new int[images];
        for (RandomErasing.Box b : bs) {
            perImage[b.example()]++;
        }
        for (int c : perImage) {
            counts[c]++;
        }
        for (int c = 1; c <= 3; c++) {
            assertEquals(1 / 3.0, counts[c] / (double) images, 5 * Math.sqrt(2 / 9.0 / images), "count " + c);
        }
    }

    @Test
    void constModeZeroesExactlyThePlannedRectangles() {
        RandomErasing e = RandomErasing.builder().probability(0.7).maxCount(2).seed(5).build();
        INDArray x = Nd4j.ones(DataType.FLOAT, 16, 2, 20, 20);
        DataSet ds = new DataSet(x, Nd4j.eye(16).castTo(DataType.FLOAT));
        e.apply(ds, 7);
        INDArray expected = Nd4j.ones(DataType.FLOAT, 16, 2, 20, 20);
        for (RandomErasing.Box b : e.plan(16, 20, 20, 7)) {
            for (int y = b.top(); y < b.top() + b.height(); y++) {
                for (int z = b.left(); z < b.left() + b.width(); z++) {
                    expected.putScalar(new int[] {b.example(), 0, y, z}, 0);
                    expected.putScalar(new int[] {b.example(), 1, y, z}, 0);
                }
            }
        }
        assertEquals(expected, ds.getFeatures());
        assertEquals(Nd4j.ones(DataType.FLOAT, 16, 2, 20, 20), x, "input untouched");
    }

    @Test
    void randModeFillsOneValuePerChannel() {
        RandomErasing e = RandomErasing.builder().probability(1.0).mode(RandomErasing.Mode.RAND).seed(6).build();
        INDArray x = Nd4j.valueArrayOf(new long[] {8, 3, 16, 16}, 100f, DataType.FLOAT);
        INDArray out = e.erase(x, 0);
        for (RandomErasing.Box b : e.plan(8, 16, 16, 0)) {
            double[] firstPixel = new double[3];
            for (int c = 0; c < 3; c++) {
                firstPixel[c] = out.getDouble(b.example(), c, b.top(), b.left());
                for (int y = b.top(); y < b.top() + b.height(); y++) {
                    for (int z = b.left(); z < b.left() + b.width(); z++) {
                        assertEquals(firstPixel[c], out.getDouble(b.example(), c, y, z));
                    }
                }
            }
            assertNotEquals(firstPixel[0], firstPixel[1]);
        }
    }

    @Test
    void pixelModeFillsStandardNormalNoise() {
        RandomErasing e = RandomErasing.builder().probability(1.0).mode(RandomErasing.Mode.PIXEL).seed(7).build();
        INDArray x = Nd4j.valueArrayOf(new long[] {64, 2, 28, 28}, 100f, DataType.FLOAT);
        INDArray out = e.erase(x, 0);
        double[] v = out.data().asDouble();
        double sum = 0;
        double sumSq = 0;
        int n = 0;
        for (double d : v) {
            if (d != 100.0) {
                sum += d;
                sumSq += d * d;
                n++;
            }
        }
        int planned = 2 * e.plan(64, 28, 28, 0).stream().mapToInt(RandomErasing.Box::area).sum();
        assertTrue(n > 10_000 && n <= planned, n + " of " + planned);   // rectangles may overlap
        double mean = sum / n;
        assertEquals(0.0, mean, 5 / Math.sqrt(n));
        assertEquals(1.0, sumSq / n - mean * mean, 5 * Math.sqrt(2.0 / n));
    }

    @Test
    void drawsAreAFunctionOfSeedAndStep() {
        RandomErasing e = RandomErasing.builder().probability(1.0).mode(RandomErasing.Mode.PIXEL).seed(8).build();
        INDArray x = Nd4j.zeros(DataType.FLOAT, 4, 1, 12, 12);
        DataSet a = new DataSet(x.dup(), Nd4j.eye(4));
        e.preProcess(a);
        assertEquals(1, e.calls());
        DataSet b = new DataSet(x.dup(), Nd4j.eye(4));
        e.apply(b, 0);
        assertEquals(a.getFeatures(), b.getFeatures());
        DataSet c = new DataSet(x.dup(), Nd4j.eye(4));
        e.preProcess(c);
        assertNotEquals(a.getFeatures(), c.getFeatures());
        e.setCalls(0);
        DataSet d = new DataSet(x.dup(), Nd4j.eye(4));
        e.preProcess(d);
        assertEquals(a.getFeatures(), d.getFeatures());
        assertEquals(e.plan(4, 12, 12, 3).subList(0, 1), e.plan(1, 12, 12, 3), "an image's draws do not depend on the"
                + " batch size");
    }

    @Test
    void timmsDefaults() {
        RandomErasing e = RandomErasing.builder().build();
        assertEquals(0.5, e.getProbability());
        assertEquals(0.02, e.getMinArea());
        assertEquals(1 / 3.0, e.getMaxArea());
        assertEquals(0.3, e.getMinAspect());
        assertEquals(1 / 0.3, e.getMaxAspect());
        assertEquals(RandomErasing.Mode.CONST, e.getMode());
        assertEquals(1, e.getMinCount());
        assertEquals(1, e.getMaxCount());
        assertEquals(10, RandomErasing.ATTEMPTS);
    }

    @Test
    void javaSerializationRoundTrip() throws Exception {
        RandomErasing e = RandomErasing.builder().probability(0.25).minArea(0.05).maxArea(0.4).minAspect(0.5)
                .maxAspect(3).mode(RandomErasing.Mode.RAND).minCount(1).maxCount(4).seed(9).build();
        RandomErasing back = JavaSerialization.roundTrip(e);
        assertEquals(e, back);
        assertEquals(e.hashCode(), back.hashCode());
        assertEquals(e.plan(8, 20, 20, 2), back.plan(8, 20, 20, 2));
    }

    @Test
    void badInput() {
        assertEquals("probability must be in [0, 1], got 1.5",
                message(() -> RandomErasing.builder().probability(1.5)));
        assertEquals("minArea must be in (0, 1], got 0.0", message(() -> RandomErasing.builder().minArea(0)));
        assertEquals("maxArea must be in (0, 1], got 1.5", message(() -> RandomErasing.builder().maxArea(1.5)));
        assertEquals("minArea and maxArea must satisfy 0 < minArea <= maxArea <= 1, got [0.5, 0.3333333333333333]",
                message(() -> RandomErasing.builder().minArea(0.5).build()));
        assertEquals("minAspect must be finite and > 0, got 0.0", message(() -> RandomErasing.builder().minAspect(0)));
        assertEquals("minAspect and maxAspect must satisfy 0 < minAspect <= maxAspect, got [2.0, 1.0]",
                message(() -> RandomErasing.builder().minAspect(2).maxAspect(1).build()));
        assertEquals("minCount must be >= 1, got 0", message(() -> RandomErasing.builder().minCount(0)));
        assertEquals("maxCount must be >= minCount = 3, got 2",
                message(() -> RandomErasing.builder().minCount(3).maxCount(2).build()));
        assertEquals("RandomErasing needs features of rank 4 [n, c, h, w], got shape [4, 784]",
                message(() -> RandomErasing.builder().build().erase(Nd4j.zeros(4, 784), 0)));
    }

    private static String message(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }
}
