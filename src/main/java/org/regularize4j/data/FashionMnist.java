package org.regularize4j.data;

import org.nd4j.linalg.dataset.DataSet;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * One split of Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017, Zalando; MIT licence): 28x28 grey-scale images of
 * ten kinds of clothing, held in memory as unsigned bytes with their labels.
 *
 * <p>Sources: {@link #fromDirectory(Path, Split)} reads the four IDX files (gzipped or not) of a directory, such as
 * {@link #INSTALLED_DIR} that Debian's {@code dataset-fashion-mnist} package installs; {@link #bundled(Split)} reads
 * the stratified subset inside this jar: the first 1,000 training images of each class (10,000) and the first
 * 200 test images of each class (2,000) of the original files, in their original order (docs/data.md);
 * {@link #load(Split)} takes the installed set when present, else the bundled subset.
 *
 * <p>{@link #iterator(int)} and {@link FashionMnistIterator.Builder} turn a split into a DL4J
 * {@code DataSetIterator} of normalized {@code [batch, 1, 28, 28]} float features and one-hot labels, shuffled per
 * epoch and optionally augmented; {@link #firstPerClass(int)} caps the images per class (a small-data regime).
 *
 * <pre>{@code
 * FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN);    // 10,000 images, 1,000 per class
 * FashionMnist small = train.firstPerClass(50);                          // 500 images, 50 per class
 * DataSetIterator it = small.iterator(64);                                // in file order, not augmented
 * DataSet batch = it.next();                                              // features [64, 1, 28, 28]
 * String name = FashionMnist.CLASS_NAMES.get(small.label(0));            // "Ankle boot"
 * }</pre>
 */
public final class FashionMnist implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger log = LoggerFactory.getLogger(FashionMnist.class);

    /** Where Debian's {@code dataset-fashion-mnist} package puts the gzipped IDX files. */
    public static final Path INSTALLED_DIR = Paths.get("/usr/share/datasets/fashion-mnist");
    /** Image height and width. */
    public static final int SIDE = 28;
    /** Number of classes. */
    public static final int NUM_CLASSES = 10;
    /** The class names, by label. */
    public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** Mean pixel value (scaled to [0, 1]) of the 60,000 training images; features are (x - MEAN) / STD. */
    public static final float MEAN = 0.2860f;
    /** Standard deviation of the pixel values (scaled to [0, 1]) of the 60,000 training images. */
    public static final float STD = 0.3530f;
    /** Name of the bundled subset, as {@link #source()} reports it. */
    public static final String BUNDLED = "bundled";

    private static final String RESOURCE_DIR = "fashion-mnist/";

    /**
     * The training or the test split, with the file-name prefix of its IDX files.
     *
     * <pre>{@code
     * String prefix = FashionMnist.Split.TEST.filePrefix();   // "t10k"
     * }</pre>
     */
    public enum Split {
        /** {@code train-images-idx3-ubyte}, {@code train-labels-idx1-ubyte}. */
        TRAIN("train"),
        /** {@code t10k-images-idx3-ubyte}, {@code t10k-labels-idx1-ubyte}. */
        TEST("t10k");

        private final String filePrefix;

        Split(String filePrefix) {
            this.filePrefix = filePrefix;
        }

        /** {@code train} or {@code t10k}. */
        public String filePrefix() {
            return filePrefix;
        }

        /** The image file's name without {@code .gz}. */
        public String imagesFile() {
            return filePrefix + "-images-idx3-ubyte";
        }

        /** The label file's name without {@code .gz}. */
        public String labelsFile() {
            return filePrefix + "-labels-idx1-ubyte";
        }
    }

    private final String source;
    private final Split split;
    private final int count;
    private final byte[] pixels;
    private final byte[] labels;
    /** The names of the labels 0..k-1 ({@link #CLASS_NAMES}, or a subset after {@link #classes(int...)}). */
    private final List<String> classNames;

    private FashionMnist(String source, Split split, byte[] pixels, byte[] labels, List<String> classNames) {
        this.source = source;
        this.split = split;
        this.count = labels.length;
        this.pixels = pixels;
        this.labels = labels;
        this.classNames = classNames;
    }

    /**
     * Images and labels as given (checked: 28x28 images, labels in [0, 10), as many labels as images).
     *
     * @param source a name for messages and {@link #source()}
     */
    public static FashionMnist of(String source, Split split, Idx.Images images, byte[] labels) {
        Checks.notNull("source", source);
        Checks.notNull("split", split);
        Checks.notNull("images", images);
        Checks.notNull("labels", labels);
        try {
            return checked(source, split, images, source, labels, source);
        } catch (IdxFormatException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Reads a split from the IDX files in {@code dir}: {@code <prefix>-images-idx3-ubyte} and
     * {@code <prefix>-labels-idx1-ubyte}, each gzipped ({@code .gz}) or plain.
     *
     * @throws NoSuchFileException  naming the directory and the files looked for
     * @throws IdxFormatException   naming the file and what is wrong with it
     */
    public static FashionMnist fromDirectory(Path dir, Split split) throws IOException {
        Checks.notNull("dir", dir);
        Checks.notNull("split", split);
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "not a directory with Fashion-MNIST IDX files");
        }
        Path imagesFile = find(dir, split.imagesFile());
        Path labelsFile = find(dir, split.labelsFile());
        Idx.Images images = Idx.readImages(imagesFile);
        byte[] labels = Idx.readLabels(labelsFile);
        FashionMnist data = checked(dir.toString(), split, images, imagesFile.toString(), labels,
                labelsFile.toString());
        log.debug("read {} {} images from {}", data.size(), split.filePrefix(), dir);
        return data;
    }

    /** The stratified subset bundled in this jar (10,000 training or 2,000 test images). */
    public static FashionMnist bundled(Split split) {
        Checks.notNull("split", split);
        String imagesName = RESOURCE_DIR + split.imagesFile() + ".gz";
        String labelsName = RESOURCE_DIR + split.labelsFile() + ".gz";
        try (InputStream images = resource(imagesName); InputStream labels = resource(labelsName)) {
            return checked(BUNDLED, split, Idx.readImages(images, imagesName), imagesName,
                    Idx.readLabels(labels, labelsName), labelsName);
        } catch (IOException e) {
            throw new UncheckedIOException("the bundled Fashion-MNIST subset cannot be read: " + e.getMessage(), e);
        }
    }

    /** {@link #INSTALLED_DIR} when it holds all four files, else empty. */
    public static Optional<Path> installedDirectory() {
        for (Split s : Split.values()) {
            for (String f : List.of(s.imagesFile(), s.labelsFile())) {
                if (!Files.isRegularFile(INSTALLED_DIR.resolve(f + ".gz")) && !Files.isRegularFile(INSTALLED_DIR.resolve(f))) {
                    return Optional.empty();
                }
            }
        }
        return Optional.of(INSTALLED_DIR);
    }

    /** The full data set from {@link #INSTALLED_DIR} when installed, else the {@linkplain #bundled bundled subset}. */
    public static FashionMnist load(Split split) throws IOException {
        Optional<Path> dir = installedDirectory();
        return dir.isPresent() ? fromDirectory(dir.get(), split) : bundled(split);
    }

    /** Where the data came from: {@value #BUNDLED} or a directory. */
    public String source() {
        return source;
    }

    /** Training or test split. */
    public Split split() {
        return split;
    }

    /** Number of images. */
    public int size() {
        return count;
    }

    /** The label of image {@code index}, in [0, {@link #numClasses()}). */
    public int label(int index) {
        return labels[Checks.index("index", index, count)];
    }

    /** The pixel at ({@code row}, {@code col}) of image {@code index}, in [0, 255]. */
    public int pixel(int index, int row, int col) {
        Checks.index("index", index, count);
        Checks.index("row", row, SIDE);
        Checks.index("col", col, SIDE);
        return pixels[(index * SIDE + row) * SIDE + col] & 0xFF;
    }

    /** Number of classes: 10, or as many as {@link #classes(int...)} kept. */
    public int numClasses() {
        return classNames.size();
    }

    /** The names of the labels 0..{@code numClasses() - 1}. */
    public List<String> classNames() {
        return classNames;
    }

    /**
     * Only the images of the given classes, in their order here, relabelled by their position in {@code classes}:
     * {@code classes(3, 0)} keeps dresses (now label 0) and T-shirts (now label 1). For transfer experiments on
     * Fashion-MNIST alone (pretrain on some classes, fine-tune on all).
     *
     * @param classes at least 2 distinct labels of this data set, each in [0, numClasses())
     */
    public FashionMnist classes(int... classes) {
        Checks.notNull("classes", classes);
        int[] newLabel = new int[numClasses()];
        Arrays.fill(newLabel, -1);
        List<String> names = new java.util.ArrayList<>();
        for (int k = 0; k < classes.length; k++) {
            int c = Checks.index("classes[" + k + "]", classes[k], numClasses());
            if (newLabel[c] >= 0) {
                throw new IllegalArgumentException("classes must be distinct, got " + Arrays.toString(classes));
            }
            newLabel[c] = k;
            names.add(classNames.get(c));
        }
        if (classes.length < 2) {
            throw new IllegalArgumentException("classes must name at least 2 classes, got " + Arrays.toString(classes));
        }
        int[] keep = new int[count];
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (newLabel[labels[i]] >= 0) {
                keep[n++] = i;
            }
        }
        FashionMnist kept = subset(Arrays.copyOf(keep, n), source + ", classes " + Arrays.toString(classes));
        byte[] relabelled = new byte[n];
        for (int i = 0; i < n; i++) {
            relabelled[i] = (byte) newLabel[kept.labels[i]];
        }
        return new FashionMnist(kept.source, split, kept.pixels, relabelled, List.copyOf(names));
    }

    /** Images per class, by label. */
    public int[] classCounts() {
        int[] counts = new int[numClasses()];
        for (byte label : labels) {
            counts[label]++;
        }
        return counts;
    }

    /**
     * The first {@code perClass} images of each class, in their order here (a class with fewer keeps all of
     * them). The subset is the same whatever the seed, so that runs with different seeds see the same images.
     *
     * @param perClass {@code >= 1}
     */
    public FashionMnist firstPerClass(int perClass) {
        Checks.atLeast("perClass", perClass, 1);
        int[] taken = new int[numClasses()];
        int[] keep = new int[count];
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (taken[labels[i]]++ < perClass) {
                keep[n++] = i;
            }
        }
        return subset(Arrays.copyOf(keep, n), String.format(Locale.ROOT, "%s, first %d per class", source, perClass));
    }

    /** The images at the given indices, in that order. */
    public FashionMnist subset(int[] indices, String description) {
        Checks.notNull("indices", indices);
        byte[] p = new byte[indices.length * SIDE * SIDE];
        byte[] l = new byte[indices.length];
        for (int k = 0; k < indices.length; k++) {
            int i = Checks.index("indices[" + k + "]", indices[k], count);
            System.arraycopy(pixels, i * SIDE * SIDE, p, k * SIDE * SIDE, SIDE * SIDE);
            l[k] = labels[i];
        }
        return new FashionMnist(Checks.notNull("description", description), split, p, l, classNames);
    }

    /** An iterator over all images in file order, without augmentation; see {@link FashionMnistIterator.Builder}. */
    public FashionMnistIterator iterator(int batchSize) {
        return FashionMnistIterator.builder(this).batchSize(batchSize).build();
    }

    /** All images as one normalized DataSet: features {@code [n, 1, 28, 28]}, one-hot labels {@code [n, numClasses()]}. */
    public DataSet toDataSet() {
        return FashionMnistIterator.builder(this).batchSize(Math.max(1, count)).build().next();
    }

    /** Writes this split as gzipped IDX files into {@code dir} (used to make the bundled subset). */
    public void writeIdx(Path dir) throws IOException {
        Files.createDirectories(dir);
        Idx.writeImages(dir.resolve(split.imagesFile() + ".gz"), new Idx.Images(count, SIDE, SIDE, pixels));
        Idx.writeLabels(dir.resolve(split.labelsFile() + ".gz"), labels);
    }

    /** Normalizes image {@code index} into {@code out[offset..offset+784)}: (x / 255 - MEAN) / STD. */
    void normalizedImage(int index, float[] out, int offset) {
        int base = index * SIDE * SIDE;
        for (int k = 0; k < SIDE * SIDE; k++) {
            out[offset + k] = NORMALIZED[pixels[base + k] & 0xFF];
        }
    }

    /** The raw pixel at flat position {@code k} of image {@code index}. */
    int rawPixel(int index, int k) {
        return pixels[index * SIDE * SIDE + k] & 0xFF;
    }

    /** (v / 255 - MEAN) / STD for every byte value v. */
    static final float[] NORMALIZED = new float[256];

    static {
        for (int v = 0; v < 256; v++) {
            NORMALIZED[v] = (v / 255f - MEAN) / STD;
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "Fashion-MNIST %s (%s, %d images)", split.filePrefix(), source, count);
    }

    // ------------------------------------------------------------------------------------------ internals

    private static FashionMnist checked(String source, Split split, Idx.Images images, String imagesName,
                                        byte[] labels, String labelsName) throws IdxFormatException {
        if (images.rows() != SIDE || images.cols() != SIDE) {
            throw new IdxFormatException(imagesName + ": images are " + images.rows() + "x" + images.cols()
                    + ", Fashion-MNIST's are 28x28");
        }
        if (images.count() != labels.length) {
            throw new IdxFormatException(imagesName + " has " + images.count() + " images but " + labelsName
                    + " has " + labels.length + " labels");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= NUM_CLASSES) {
                throw new IdxFormatException(labelsName + ": label " + (labels[i] & 0xFF) + " at index " + i
                        + " is not a class in [0, " + NUM_CLASSES + ")");
            }
        }
        return new FashionMnist(source, split, images.pixels(), labels, CLASS_NAMES);
    }

    private static Path find(Path dir, String name) throws NoSuchFileException {
        for (String candidate : List.of(name + ".gz", name)) {
            Path p = dir.resolve(candidate);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new NoSuchFileException(dir.resolve(name + "[.gz]").toString(), null,
                "no " + name + " or " + name + ".gz in " + dir);
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = FashionMnist.class.getResourceAsStream(name);
        if (in == null) {
            throw new NoSuchFileException("classpath:org/regularize4j/data/" + name);
        }
        return in;
    }
}
