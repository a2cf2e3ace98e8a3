package org.regularize4j.data;

import org.regularize4j.util.Checks;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * Reads and writes the IDX files of MNIST and Fashion-MNIST (unsigned bytes: {@code idx3} images, {@code idx1}
 * labels), gzipped or plain; a gzipped file is recognised by its content, not its name.
 *
 * <p>Why not DL4J's {@code MnistImageFile}/{@code MnistLabelFile}: they extend {@code RandomAccessFile}, so they
 * read neither gzipped files nor resources inside a jar, and {@code readImagesUnsafe} ignores how many bytes
 * {@code read} returned, so a truncated file silently yields zero pixels. Here every file is read whole and
 * checked: the magic number, the header's dimensions, that exactly the announced number of bytes follows. Errors
 * are {@link IdxFormatException}s whose message starts with the file name and says what is wrong.
 *
 * <pre>{@code
 * Path dir = Files.createTempDirectory("idx");
 * Idx.writeImages(dir.resolve("images-idx3-ubyte.gz"), new Idx.Images(2, 2, 3, new byte[12]));
 * Idx.writeLabels(dir.resolve("labels-idx1-ubyte"), new byte[] {7, 1});
 * Idx.Images images = Idx.readImages(dir.resolve("images-idx3-ubyte.gz"));   // 2 images of 2x3
 * byte[] labels = Idx.readLabels(dir.resolve("labels-idx1-ubyte"));          // {7, 1}
 * }</pre>
 */
public final class Idx {
    /** Magic number of an IDX file of unsigned bytes with one dimension (labels). */
    public static final int LABELS_MAGIC = 0x00000801;
    /** Magic number of an IDX file of unsigned bytes with three dimensions (images). */
    public static final int IMAGES_MAGIC = 0x00000803;

    private Idx() {
    }

    /**
     * Images read from an {@code idx3-ubyte} file: {@code count} images of {@code rows x cols} unsigned bytes,
     * row-major, image after image.
     *
     * <pre>{@code
     * Idx.Images images = new Idx.Images(1, 2, 2, new byte[] {0, (byte) 255, 3, 4});
     * int pixel = images.pixel(0, 0, 1);   // 255
     * }</pre>
     *
     * @param pixels {@code count * rows * cols} bytes (not copied)
     */
    public record Images(int count, int rows, int cols, byte[] pixels) {
        /** Checks that the pixels fit the dimensions. */
        public Images {
            Checks.atLeast("count", count, 0);
            Checks.atLeast("rows", rows, 1);
            Checks.atLeast("cols", cols, 1);
            Checks.notNull("pixels", pixels);
            if ((long) count * rows * cols != pixels.length) {
                throw new IllegalArgumentException("pixels must hold count * rows * cols = " + count + " * " + rows
                        + " * " + cols + " bytes, got " + pixels.length);
            }
        }

        /** The pixel at ({@code row}, {@code col}) of image {@code index}, in [0, 255]. */
        public int pixel(int index, int row, int col) {
            Checks.index("index", index, count);
            Checks.index("row", row, rows);
            Checks.index("col", col, cols);
            return pixels[(index * rows + row) * cols + col] & 0xFF;
        }
    }

    /** Reads an {@code idx3-ubyte} image file, gzipped or plain. */
    public static Images readImages(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return readImages(in, file.toString());
        }
    }

    /** Reads an {@code idx1-ubyte} label file, gzipped or plain. */
    public static byte[] readLabels(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return readLabels(in, file.toString());
        }
    }

    /**
     * Reads images from a stream (gzipped or plain) that it does not close.
     *
     * @param name the file or resource name that error messages start with
     */
    public static Images readImages(InputStream stream, String name) throws IOException {
        return read(stream, name, in -> {
            int magic = readHeaderInt(in, name, "magic number");
            checkMagic(name, magic, IMAGES_MAGIC, "image");
            int count = readHeaderInt(in, name, "image count");
            int rows = readHeaderInt(in, name, "row count");
            int cols = readHeaderInt(in, name, "column count");
            if (count < 0 || rows < 1 || cols < 1 || (long) count * rows * cols > Integer.MAX_VALUE - 64) {
                throw new IdxFormatException(name + ": the header announces " + count + " images of " + rows + "x"
                        + cols + ", which is not a valid size");
            }
            byte[] pixels = readBody(in, name, (long) count * rows * cols, count + " images of " + rows + "x" + cols
                    + " (" + (long) count * rows * cols + " bytes of pixels)");
            return new Images(count, rows, cols, pixels);
        });
    }

    /**
     * Reads labels from a stream (gzipped or plain) that it does not close.
     *
     * @param name the file or resource name that error messages start with
     */
    public static byte[] readLabels(InputStream stream, String name) throws IOException {
        return read(stream, name, in -> {
            int magic = readHeaderInt(in, name, "magic number");
            checkMagic(name, magic, LABELS_MAGIC, "label");
            int count = readHeaderInt(in, name, "label count");
            if (count < 0) {
                throw new IdxFormatException(name + ": the header announces " + count + " labels");
            }
            return readBody(in, name, count, count + " labels");
        });
    }

    /** Writes an {@code idx3-ubyte} image file; gzipped when the name ends in {@code .gz}. */
    public static void writeImages(Path file, Images images) throws IOException {
        Checks.notNull("images", images);
        try (DataOutput out = DataOutput.open(file)) {
            out.data.writeInt(IMAGES_MAGIC);
            out.data.writeInt(images.count());
            out.data.writeInt(images.rows());
            out.data.writeInt(images.cols());
            out.data.write(images.pixels());
        }
    }

    /** Writes an {@code idx1-ubyte} label file; gzipped when the name ends in {@code .gz}. */
    public static void writeLabels(Path file, byte[] labels) throws IOException {
        Checks.notNull("labels", labels);
        try (DataOutput out = DataOutput.open(file)) {
            out.data.writeInt(LABELS_MAGIC);
            out.data.writeInt(labels.length);
            out.data.write(labels);
        }
    }

    // ------------------------------------------------------------------------------------------ internals

    private interface Body<T> {
        T read(DataInputStream in) throws IOException;
    }

    private static <T> T read(InputStream stream, String name, Body<T> body) throws IOException {
        Checks.notNull("stream", stream);
        BufferedInputStream buffered = new BufferedInputStream(stream, 1 << 16);
        buffered.mark(2);
        int b0 = buffered.read();
        int b1 = buffered.read();
        buffered.reset();
        if (b0 < 0) {
            throw new IdxFormatException(name + ": the file is empty");
        }
        boolean gzip = b0 == 0x1f && b1 == 0x8b;
        try {
            InputStream in = gzip ? new GZIPInputStream(buffered, 1 << 16) : buffered;
            return body.read(new DataInputStream(in));
        } catch (ZipException | EOFException e) {
            // GZIPInputStream reports a cut-off or damaged gzip stream this way
            throw new IdxFormatException(name + ": truncated or corrupt gzip data (" + e.getMessage() + ")", e);
        }
    }

    private static int readHeaderInt(DataInputStream in, String name, String what) throws IOException {
        byte[] b = in.readNBytes(4);
        if (b.length < 4) {
            throw new IdxFormatException(name + ": truncated: the file ends inside its header (" + what + ")");
        }
        return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
    }

    private static void checkMagic(String name, int magic, int expected, String kind) throws IdxFormatException {
        if (magic != expected) {
            String seen = magic == LABELS_MAGIC ? " (an IDX label file)" : magic == IMAGES_MAGIC
                    ? " (an IDX image file)" : (magic & 0xFFFF0000) == 0 && ((magic >> 8) & 0xFF) != 0x08
                    ? " (IDX, but not unsigned bytes)" : "";
            throw new IdxFormatException(String.format("%s: wrong magic number 0x%08X%s, expected 0x%08X for an IDX %s"
                    + " file of unsigned bytes", name, magic, seen, expected, kind));
        }
    }

    private static byte[] readBody(DataInputStream in, String name, long size, String announced) throws IOException {
        byte[] body = in.readNBytes((int) size);
        if (body.length < size) {
            throw new IdxFormatException(name + ": truncated: the header announces " + announced + ", the file ends"
                    + " after " + body.length + " of " + size + " bytes");
        }
        long extra = 0;
        byte[] skip = new byte[8192];
        for (int n; (n = in.read(skip)) > 0; ) {
            extra += n;
        }
        if (extra > 0) {
            throw new IdxFormatException(name + ": " + extra + " bytes follow the " + announced
                    + " that the header announces");
        }
        return body;
    }

    /** A DataOutputStream on a file, through a maximally compressing gzip stream for {@code .gz} names. */
    private static final class DataOutput implements AutoCloseable {
        final java.io.DataOutputStream data;

        private DataOutput(java.io.DataOutputStream data) {
            this.data = data;
        }

        static DataOutput open(Path file) throws IOException {
            Checks.notNull("file", file);
            OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
            if (file.getFileName().toString().endsWith(".gz")) {
                out = new GZIPOutputStream(out, 1 << 16) {
                    {
                        def.setLevel(Deflater.BEST_COMPRESSION);
                    }
                };
            }
            return new DataOutput(new java.io.DataOutputStream(out));
        }

        @Override
        public void close() throws IOException {
            data.close();
        }
    }
}
