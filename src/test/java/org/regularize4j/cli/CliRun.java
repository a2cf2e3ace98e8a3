package org.regularize4j.cli;

import org.regularize4j.data.FashionMnist;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs {@link Main} in-process with captured standard output and error. */
record CliRun(int exitCode, String out, String err) {

    static CliRun of(String... args) {
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Main.run(args);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        return new CliRun(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The last line of standard output (the JSON line). */
    String lastLine() {
        String[] lines = out.strip().split("\n");
        return lines[lines.length - 1];
    }

    /** A numeric field of the JSON line. */
    double number(String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\": (-?[0-9.eE+-]+)").matcher(lastLine());
        if (!m.find()) {
            throw new AssertionError("no numeric " + key + " in " + lastLine());
        }
        return Double.parseDouble(m.group(1));
    }

    @Override
    public String toString() {
        return "exit " + exitCode + "\n--- out:\n" + out + "\n--- err:\n" + err;
    }

    /** A tiny data directory: the first {@code perClass} bundled test images of each class as train and test. */
    static Path tinyData(Path dir, int perClass) throws IOException {
        FashionMnist test = FashionMnist.bundled(FashionMnist.Split.TEST).firstPerClass(perClass);
        test.writeIdx(dir);
        FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(perClass);
        train.writeIdx(dir);
        return dir;
    }
}
