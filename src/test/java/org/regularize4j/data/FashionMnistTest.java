package org.regularize4j.data;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bundled subset (real Fashion-MNIST files), directory reading and its errors, per-class caps. */
class FashionMnistTest {
    @TempDir
    Path dir;

    @Test
    void bundledSubsetHasItsCountsBalanceAndPixelRange() {
        FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN);
        FashionMnist test = FashionMnist.bundled(FashionMnist.Split.TEST);
        assertEquals(10_000, train.size());
        assertEquals(2_000, test.size());
        int[] thousand = new int[10];
        Arrays.fill(thousand, 1000);
        assertArrayEquals(thousand, train.classCounts());
        int[] twoHundred = new int[10];
        Arrays.fill(twoHundred, 200);
        assertArrayEquals(twoHundred, test.classCounts());
        assertEquals("bundled", train.source());
        // the original files' first images: an ankle boot (train) and an ankle boot (t10k)
        assertEquals(9, train.label(0));
        assertEquals(9, test.label(0));
        assertEquals(0, train.label(1));   // second training image: a T-shirt/top

        for (FashionMnist d : new FashionMnist[] {train, test}) {
            int min = 255;
            int max = 0;
            double sum = 0;
            for (int i = 0; i < d.size(); i++) {
                for (int r = 0; r < 28; r++) {
                    for (int c = 0; c < 28; c++) {
                        int p = d.pixel(i, r, c);
                        min = Math.min(min, p);
                        max = Math.max(max, p);
                        sum += p;
                    }
                }
            }
            assertEquals(0, min);
            assertEquals(255, max);
            double mean = sum / d.size() / 784 / 255;
            // the full training set's mean is 0.2860; a balanced subset of it is within 0.01
            assertEquals(FashionMnist.MEAN, mean, 0.01, d.toString());
        }
    }

    @Test
    void bundledSubsetIsTheFirstImagesOfEachClassOfTheInstalledSet() throws IOException {
        Assumptions.assumeTrue(FashionMnist.installedDirectory().isPresent(), "Fashion-MNIST is not installed");
        Path installed = FashionMnist.installedDirectory().get();
        assertSameImages(FashionMnist.fromDirectory(installed, FashionMnist.Split.TRAIN).firstPerClass(1000),
                FashionMnist.bundled(FashionMnist.Split.TRAIN));
        FashionMnist fullTest = FashionMnist.fromDirectory(installed, FashionMnist.Split.TEST);
        assertEquals(10_000, fullTest.size());
        assertSameImages(fullTest.firstPerClass(200), FashionMnist.bundled(FashionMnist.Split.TEST));
        assertEquals(installed.toString(), FashionMnist.load(FashionMnist.Split.TEST).source());
    }

    private static void assertSameImages(FashionMnist expected, FashionMnist actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.label(i), actual.label(i));
            for (int r = 0; r < 28; r++) {
                for (int c = 0; c < 28; c++) {
                    if (expected.pixel(i, r, c) != actual.pixel(i, r, c)) {
                        throw new AssertionError("image " + i + " differs at (" + r + ", " + c + ")");
                    }
                }
            }
        }
    }

    @Test
    void directoryRoundTripPlainAndGzipped() throws IOException {
        FashionMnist small = FashionMnist.bundled(FashionMnist.Split.TEST).firstPerClass(3);
        assertEquals(30, small.size());
        small.writeIdx(dir);
        assertTrue(Files.exists(dir.resolve("t10k-images-idx3-ubyte.gz")));
        FashionMnist read = FashionMnist.fromDirectory(dir, FashionMnist.Split.TEST);
        assertSameImages(small, read);
        assertEquals(dir.toString(), read.source());

        // uncompressed files (as DL4J's own MNIST downloader leaves them) work too
        Path plain = Files.createDirectories(dir.resolve("plain"));
        Idx.writeImages(plain.resolve("t10k-images-idx3-ubyte"), Idx.readImages(dir.resolve("t10k-images-idx3-ubyte.gz")));
        Idx.writeLabels(plain.resolve("t10k-labels-idx1-ubyte"), Idx.readLabels(dir.resolve("t10k-labels-idx1-ubyte.gz")));
        assertSameImages(small, FashionMnist.fromDirectory(plain, FashionMnist.Split.TEST));
    }

    @Test
    void imageAndLabelCountMismatchNamesBothFiles() throws IOException {
        FashionMnist.bundled(FashionMnist.Split.TEST).firstPerClass(2).writeIdx(dir);
        Path labels = dir.resolve("t10k-labels-idx1-ubyte.gz");
        byte[] read = Idx.readLabels(labels);
        Idx.writeLabels(labels, Arrays.copyOf(read, read.length - 1));
        IdxFormatException e = assertThrows(IdxFormatException.class,
                () -> FashionMnist.fromDirectory(dir, FashionMnist.Split.TEST));
        assertEquals(dir.resolve("t10k-images-idx3-ubyte.gz") + " has 20 images but " + labels + " has 19 labels",
                e.getMessage());
    }

    @Test
    void labelOutsideTheClassesAndWrongImageSizeAreNamed() throws IOException {
        Path labels = dir.resolve("train-labels-idx1-ubyte.gz");
        Idx.writeImages(dir.resolve("train-images-idx3-ubyte.gz"), new Idx.Images(2, 28, 28, new byte[2 * 784]));
        Idx.writeLabels(labels, new byte[] {3, 12});
        IdxFormatException e = assertThrows(IdxFormatException.class,
                () -> FashionMnist.fromDirectory(dir, FashionMnist.Split.TRAIN));
        assertEquals(labels + ": label 12 at index 1 is not a class in [0, 10)", e.getMessage());

        Idx.writeImages(dir.resolve("train-images-idx3-ubyte.gz"), new Idx.Images(2, 32, 32, new byte[2 * 1024]));
        e = assertThrows(IdxFormatException.class, () -> FashionMnist.fromDirectory(dir, FashionMnist.Split.TRAIN));
        assertEquals(dir.resolve("train-images-idx3-ubyte.gz") + ": images are 32x32, Fashion-MNIST's are 28x28",
                e.getMessage());
    }

    @Test
    void missingFilesAndDirectoriesAreNamed() {
        NoSuchFileException e = assertThrows(NoSuchFileException.class,
                () -> FashionMnist.fromDirectory(dir, FashionMnist.Split.TRAIN));
        assertTrue(e.getMessage().contains("no train-images-idx3-ubyte or train-images-idx3-ubyte.gz in " + dir),
                e.getMessage());
        e = assertThrows(NoSuchFileException.class,
                () -> FashionMnist.fromDirectory(dir.resolve("absent"), FashionMnist.Split.TRAIN));
        assertTrue(e.getMessage().contains("absent"), e.getMessage());
    }

    @Test
    void firstPerClassKeepsOrderAndCaps() {
        FashionMnist test = FashionMnist.bundled(FashionMnist.Split.TEST);
        FashionMnist five = test.firstPerClass(5);
        assertEquals(50, five.size());
        int[] fives = new int[10];
        Arrays.fill(fives, 5);
        assertArrayEquals(fives, five.classCounts());
        // same images as scanning the original in order
        int k = 0;
        int[] seen = new int[10];
        for (int i = 0; i < test.size() && k < 50; i++) {
            if (seen[test.label(i)]++ < 5) {
                assertEquals(test.label(i), five.label(k));
                assertEquals(test.pixel(i, 14, 14), five.pixel(k, 14, 14));
                k++;
            }
        }
        assertEquals(2000, test.firstPerClass(5000).size());   // a cap above the class size keeps everything
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> test.firstPerClass(0));
        assertEquals("perClass must be >= 1, got 0", e.getMessage());
    }

    @Test
    void toDataSetIsNormalizedAndOneHot() {
        DataSet ds = FashionMnist.bundled(FashionMnist.Split.TEST).toDataSet();
        INDArray x = ds.getFeatures();
        assertArrayEquals(new long[] {2000, 1, 28, 28}, x.shape());
        assertEquals(0.0, x.meanNumber().doubleValue(), 0.05);
        assertEquals(1.0, x.stdNumber().doubleValue(), 0.05);
        assertArrayEquals(new long[] {2000, 10}, ds.getLabels().shape());
        assertEquals(2000.0, ds.getLabels().sumNumber().doubleValue(), 0.0);
        assertEquals(9, ds.getLabels().getRow(0).argMax().getInt(0));
    }

    @Test
    void ofChecksItsInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FashionMnist.of("mine",
                FashionMnist.Split.TRAIN, new Idx.Images(2, 28, 28, new byte[2 * 784]), new byte[3]));
        assertEquals("mine has 2 images but mine has 3 labels", e.getMessage());
        FashionMnist ok = FashionMnist.of("mine", FashionMnist.Split.TRAIN, new Idx.Images(1, 28, 28, new byte[784]),
                new byte[] {4});
        assertEquals(4, ok.label(0));
        assertEquals("Fashion-MNIST train (mine, 1 images)", ok.toString());
    }

    @Test
    void classesKeepsTheChosenClassesRelabelledInTheirOrder() {
        FashionMnist test = FashionMnist.bundled(FashionMnist.Split.TEST);
        FashionMnist two = test.classes(3, 0);
        assertEquals(2, two.numClasses());
        assertEquals(java.util.List.of("Dress", "T-shirt/top"), two.classNames());
        assertArrayEquals(new int[] {200, 200}, two.classCounts());
        int k = 0;
        for (int i = 0; i < test.size(); i++) {
            if (test.label(i) == 3 || test.label(i) == 0) {
                assertEquals(test.label(i) == 3 ? 0 : 1, two.label(k), "image " + i);
                assertEquals(test.pixel(i, 14, 14), two.pixel(k, 14, 14));
                k++;
            }
        }
        assertEquals(k, two.size());
        DataSet batch = two.iterator(400).next();
        assertArrayEquals(new long[] {400, 2}, batch.getLabels().shape());
        assertEquals(2, two.iterator(8).totalOutcomes());
        assertEquals(200, two.firstPerClass(100).classes(1, 0).classCounts()[0] * 2);   // composes; 100 of each
        assertTrue(assertThrows(IllegalArgumentException.class, () -> test.classes(3, 3)).getMessage()
                .contains("distinct"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> test.classes(10, 1)).getMessage()
                .contains("classes[0] must be in [0, 10), got 10"));
        assertThrows(IllegalArgumentException.class, () -> test.classes(4));
        assertThrows(IllegalArgumentException.class, () -> two.classes(0, 2));
    }
}
