package org.regularize4j.cli;

import org.regularize4j.data.FashionMnist;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;

/**
 * The {@code --data} values of {@code train} and {@code evaluate}: {@code bundled} (the subset inside the jar,
 * the default), {@code installed} ({@link FashionMnist#INSTALLED_DIR}) or a directory with the four IDX files.
 *
 * <pre>{@code
 * FashionMnist test = DataSources.load("bundled", FashionMnist.Split.TEST);
 * }</pre>
 */
final class DataSources {
    private DataSources() {
    }

    /**
     * Loads a split.
     *
     * @throws IllegalArgumentException when {@code installed} is asked for but absent, or the directory does not exist
     * @throws IOException              naming the file when a file is missing or damaged
     */
    static FashionMnist load(String data, FashionMnist.Split split) throws IOException {
        switch (data.toLowerCase(Locale.ROOT)) {
            case FashionMnist.BUNDLED:
                return FashionMnist.bundled(split);
            case "installed":
                Path dir = FashionMnist.installedDirectory().orElseThrow(() -> new IllegalArgumentException(
                        "--data installed: Fashion-MNIST is not installed in " + FashionMnist.INSTALLED_DIR
                                + " (Debian package dataset-fashion-mnist); use --data bundled or --data DIR"));
                return FashionMnist.fromDirectory(dir, split);
            default:
                Path p = Paths.get(data);
                if (!p.toFile().isDirectory()) {
                    throw new IllegalArgumentException("--data must be bundled, installed or a directory with"
                            + " Fashion-MNIST's IDX files, got " + data + " (no such directory)");
                }
                return FashionMnist.fromDirectory(p, split);
        }
    }

    /** A short description for the console, e.g. {@code bundled subset} or the directory. */
    static String describe(String data) {
        switch (data.toLowerCase(Locale.ROOT)) {
            case FashionMnist.BUNDLED:
                return "bundled subset (in the jar)";
            case "installed":
                return FashionMnist.INSTALLED_DIR.toString();
            default:
                return data;
        }
    }
}
