package org.regularize4j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The IDX reader on small files it writes, and on every kind of damaged file: each error names file and fault. */
class IdxTest {
    @TempDir
    Path dir;

    private static Idx.Images images(int count, int rows, int cols) {
        byte[] p = new byte[count * rows * cols];
        for (int i = 0; i < p.length; i++) {
            p[i] = (byte) (i * 37);
        }
        return new Idx.Images(count, rows, cols, p);
    }

    @Test
    void roundTripGzippedAndPlain() throws IOException {
        Idx.Images images = images(5, 28, 28);
        byte[] labels = {0, 9, 3, 3, 1};
        for (String suffix : new String[] {"", ".gz"}) {
            Path img = dir.resolve("x-images-idx3-ubyte" + suffix);
            Path lab = dir.resolve("x-labels-idx1-ubyte" + suffix);
            Idx.writeImages(img, images);
            Idx.writeLabels(lab, labels);
            Idx.Images read = Idx.readImages(img);
            assertEquals(5, read.count());
            assertEquals(28, read.rows());
            assertEquals(28, read.cols());
            assertArrayEquals(images.pixels(), read.pixels());
            assertArrayEquals(labels, Idx.readLabels(lab));
        }
        // gzip is recognised by content, not by name
        Path gzippedWithoutSuffix = dir.resolve("renamed");
        Files.copy(dir.resolve("x-labels-idx1-ubyte.gz"), gzippedWithoutSuffix);
        assertArrayEquals(labels, Idx.readLabels(gzippedWithoutSuffix));
        // plain layout: 16-byte header, then the pixels
        byte[] plain = Files.readAllBytes(dir.resolve("x-images-idx3-ubyte"));
        assertEquals(16 + 5 * 28 * 28, plain.length);
        assertEquals(0x08, plain[2]);
        assertEquals(0x03, plain[3]);
    }

    @Test
    void pixelAccessorAndRecordChecks() {
        Idx.Images images = new Idx.Images(1, 2, 2, new byte[] {0, (byte) 255, 3, 4});
        assertEquals(255, images.pixel(0, 0, 1));
        assertEquals(4, images.pixel(0, 1, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> images.pixel(1, 0, 0));
        assertEquals("index must be in [0, 1), got 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Idx.Images(2, 2, 2, new byte[7]));
        assertEquals("pixels must hold count * rows * cols = 2 * 2 * 2 bytes, got 7", e.getMessage());
    }

    @Test
    void wrongMagicNumberIsNamed() throws IOException {
        Path lab = dir.resolve("labels.gz");
        Idx.writeLabels(lab, new byte[] {1, 2});
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.readImages(lab));
        assertEquals(lab + ": wrong magic number 0x00000801 (an IDX label file), expected 0x00000803 for an IDX image"
                + " file of unsigned bytes", e.getMessage());

        Path img = dir.resolve("images");
        Idx.writeImages(img, images(1, 2, 2));
        e = assertThrows(IdxFormatException.class, () -> Idx.readLabels(img));
        assertTrue(e.getMessage().startsWith(img + ": wrong magic number 0x00000803 (an IDX image file), expected"
                + " 0x00000801"), e.getMessage());

        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "hello, world");
        e = assertThrows(IdxFormatException.class, () -> Idx.readImages(text));
        assertTrue(e.getMessage().startsWith(text + ": wrong magic number 0x68656C6C, expected 0x00000803"),
                e.getMessage());
    }

    @Test
    void truncatedPlainFileIsNamed() throws IOException {
        Path img = dir.resolve("t-images-idx3-ubyte");
        Idx.writeImages(img, images(3, 28, 28));
        byte[] all = Files.readAllBytes(img);
        Files.write(img, Arrays.copyOf(all, all.length - 100));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.readImages(img));
        assertEquals(img + ": truncated: the header announces 3 images of 28x28 (2352 bytes of pixels), the file"
                + " ends after 2252 of 2352 bytes", e.getMessage());

        Files.write(img, Arrays.copyOf(all, 10));
        e = assertThrows(IdxFormatException.class, () -> Idx.readImages(img));
        assertEquals(img + ": truncated: the file ends inside its header (row count)", e.getMessage());

        Files.write(img, new byte[0]);
        e = assertThrows(IdxFormatException.class, () -> Idx.readImages(img));
        assertEquals(img + ": the file is empty", e.getMessage());
    }

    @Test
    void truncatedGzipFileIsNamed() throws IOException {
        Path lab = dir.resolve("t-labels-idx1-ubyte.gz");
        byte[] labels = new byte[5000];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = (byte) ((i * 7919) % 10);
        }
        Idx.writeLabels(lab, labels);
        byte[] all = Files.readAllBytes(lab);
        Files.write(lab, Arrays.copyOf(all, all.length / 2));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.readLabels(lab));
        assertTrue(e.getMessage().startsWith(lab + ": truncated or corrupt gzip data"), e.getMessage());

        // a complete gzip stream of a file that is itself too short
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(raw)) {
            gz.write(new byte[] {0, 0, 8, 1, 0, 0, 0, 10, 1, 2, 3});
        }
        e = assertThrows(IdxFormatException.class,
                () -> Idx.readLabels(new ByteArrayInputStream(raw.toByteArray()), "short.gz"));
        assertEquals("short.gz: truncated: the header announces 10 labels, the file ends after 3 of 10 bytes",
                e.getMessage());
    }

    @Test
    void bytesAfterTheDataAreNamed() throws IOException {
        Path lab = dir.resolve("long-labels");
        Idx.writeLabels(lab, new byte[] {1, 2, 3});
        Files.write(lab, new byte[] {4, 5}, java.nio.file.StandardOpenOption.APPEND);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.readLabels(lab));
        assertEquals(lab + ": 2 bytes follow the 3 labels that the header announces", e.getMessage());
    }

    @Test
    void impossibleHeaderIsNamed() {
        byte[] header = {0, 0, 8, 3, (byte) 0x80, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28};
        IdxFormatException e = assertThrows(IdxFormatException.class,
                () -> Idx.readImages(new ByteArrayInputStream(header), "neg"));
        assertEquals("neg: the header announces -2147483648 images of 28x28, which is not a valid size", e.getMessage());
    }

    @Test
    void missingFileIsAnIoException() {
        assertThrows(NoSuchFileException.class, () -> Idx.readImages(dir.resolve("nothing-here")));
    }
}
