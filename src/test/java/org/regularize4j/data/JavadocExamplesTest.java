package org.regularize4j.data;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.regularize4j.testutil.JavadocExamples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every usage example in the Javadoc of org.regularize4j.data, copied verbatim, compiled and run. */
class JavadocExamplesTest {

    @Test
    void idxFormatException() {
        String problem;
        try {
            Idx.readLabels(Paths.get("/no/such/dir/train-labels-idx1-ubyte.gz"));
            problem = "none";
        } catch (IdxFormatException e) {
            problem = e.getMessage();   // e.g. "...labels-idx1-ubyte.gz: truncated: the header announces 60000 labels, ..."
        } catch (IOException e) {
            problem = e.toString();     // the file cannot be read at all: NoSuchFileException, ...
        }
        assertTrue(problem.startsWith("java.nio.file.NoSuchFileException"), problem);
    }

    @Test
    void idx() throws IOException {
        Path dir = Files.createTempDirectory("idx");
        Idx.writeImages(dir.resolve("images-idx3-ubyte.gz"), new Idx.Images(2, 2, 3, new byte[12]));
        Idx.writeLabels(dir.resolve("labels-idx1-ubyte"), new byte[] {7, 1});
        Idx.Images images = Idx.readImages(dir.resolve("images-idx3-ubyte.gz"));   // 2 images of 2x3
        byte[] labels = Idx.readLabels(dir.resolve("labels-idx1-ubyte"));          // {7, 1}
        assertEquals(2, images.count());
        assertEquals(3, images.cols());
        assertArrayEquals(new byte[] {7, 1}, labels);
        Files.delete(dir.resolve("images-idx3-ubyte.gz"));
        Files.delete(dir.resolve("labels-idx1-ubyte"));
        Files.delete(dir);
    }

    @Test
    void idxImages() {
        Idx.Images images = new Idx.Images(1, 2, 2, new byte[] {0, (byte) 255, 3, 4});
        int pixel = images.pixel(0, 0, 1);   // 255
        assertEquals(255, pixel);
    }

    @Test
    void fashionMnist() {
        FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN);    // 10,000 images, 1,000 per class
        FashionMnist small = train.firstPerClass(50);                          // 500 images, 50 per class
        DataSetIterator it = small.iterator(64);                                // in file order, not augmented
        DataSet batch = it.next();                                              // features [64, 1, 28, 28]
        String name = FashionMnist.CLASS_NAMES.get(small.label(0));            // "Ankle boot"
        assertEquals(10_000, train.size());
        assertEquals(500, small.size());
        assertArrayEquals(new long[] {64, 1, 28, 28}, batch.getFeatures().shape());
        assertEquals("Ankle boot", name);
    }

    @Test
    void split() {
        String prefix = FashionMnist.Split.TEST.filePrefix();   // "t10k"
        assertEquals("t10k", prefix);
    }

    @Test
    void augmentation() {
        Augmentation none = Augmentation.none();
        Augmentation standard = Augmentation.cropAndFlip(2);          // shift by up to 2 pixels, flip half the images
        Augmentation cropOnly = Augmentation.of(2, false);
        assertTrue(none.isIdentity());
        assertTrue(standard.horizontalFlip());
        assertEquals(2, cropOnly.padding());
    }

    @Test
    void fashionMnistIterator() {
        FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(20);
        FashionMnistIterator it = FashionMnistIterator.builder(train)
                .batchSize(32)
                .shuffle(true)
                .seed(1)
                .augmentation(Augmentation.cropAndFlip(2))
                .build();
        int batches = 0;
        while (it.hasNext()) {
            DataSet batch = it.next();        // features [32, 1, 28, 28]; the last batch has 8 examples
            batches++;                        // 7 batches
        }
        it.reset();                           // epoch 1: another order, other crops and flips
        assertEquals(7, batches);
        assertEquals(1, it.epoch());
    }

    @Test
    void fashionMnistIteratorBuilder() {
        FashionMnistIterator test = FashionMnistIterator.builder(FashionMnist.bundled(FashionMnist.Split.TEST))
                .batchSize(256)
                .build();                     // file order, no augmentation: for evaluation
        assertEquals(8, test.batchesPerEpoch());
    }

    @Test
    void everyExampleIsCopiedHereVerbatim() throws IOException {
        JavadocExamples.assertCopiedVerbatim("src/main/java/org/regularize4j/data",
                "src/test/java/org/regularize4j/data/JavadocExamplesTest.java", 8);
    }
}
