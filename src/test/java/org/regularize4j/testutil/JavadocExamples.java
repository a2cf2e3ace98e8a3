package org.regularize4j.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks that every Javadoc usage example ({@code <pre>{@code ...}</pre>}) of a package's sources is copied
 * verbatim (up to indentation and blank lines) into a test file, where it is compiled and run, and that every
 * public type has such an example.
 */
public final class JavadocExamples {
    private JavadocExamples() {
    }

    /**
     * @param sourceDir   e.g. {@code src/main/java/org/regularize4j/data} (its subpackages too)
     * @param testFile    the test that holds the copies (or the first of several)
     * @param minExamples fails if fewer examples are found (guards against a broken pattern)
     * @param moreTests   further tests that hold copies
     * @return the number of examples checked
     */
    public static int assertCopiedVerbatim(String sourceDir, String testFile, int minExamples, String... moreTests)
            throws IOException {
        StringBuilder tests = new StringBuilder(Files.readString(Paths.get(testFile)));
        for (String t : moreTests) {
            tests.append('\n').append(Files.readString(Paths.get(t)));
        }
        String self = normalize(tests.toString());
        List<Path> files;
        try (Stream<Path> s = Files.walk(Paths.get(sourceDir))) {   // with subpackages
            files = s.filter(p -> p.toString().endsWith(".java")).sorted().collect(Collectors.toList());
        }
        int count = 0;
        for (Path p : files) {
            String src = Files.readString(p);
            for (String example : examples(src)) {
                assertTrue(self.contains(normalize(example)), p.getFileName() + " example not copied verbatim into "
                        + testFile + ":\n" + example);
                count++;
            }
            Matcher decl = Pattern.compile("(/\\*\\*(?:(?!\\*/).)*\\*/)\\s*(?:@\\w+(?:\\([^)]*\\))?\\s*)*"
                    + "public (?:static )?(?:final )?(?:abstract )?(?:class|interface|enum|record) (\\w+)",
                    Pattern.DOTALL).matcher(src);
            int publicTypes = 0;
            while (decl.find()) {
                publicTypes++;
                assertTrue(decl.group(1).contains("<pre>{@code"), p.getFileName() + ": public type " + decl.group(2)
                        + " has no usage example in its Javadoc");
            }
            boolean declaresPublicType = Pattern.compile("^(public |    public )(static )?(final )?(abstract )?"
                    + "(class|interface|enum|record) ", Pattern.MULTILINE).matcher(src).find();
            assertTrue(!declaresPublicType || publicTypes > 0, p.getFileName() + ": public type without Javadoc");
        }
        assertTrue(count >= minExamples, "examples found in " + sourceDir + ": " + count);
        return count;
    }

    /**
     * Checks that every {@code ```java} block of a Markdown document is copied verbatim (up to indentation and
     * blank lines) into one of the test files.
     *
     * @return the number of blocks
     */
    public static int assertDocBlocksCopiedVerbatim(String doc, int minBlocks, String... testFiles) throws IOException {
        StringBuilder tests = new StringBuilder();
        for (String t : testFiles) {
            tests.append('\n').append(Files.readString(Paths.get(t)));
        }
        String copies = normalize(tests.toString());
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(Paths.get(doc)));
        int blocks = 0;
        while (m.find()) {
            assertTrue(copies.contains(normalize(m.group(1))), doc + " example not copied verbatim:\n" + m.group(1));
            blocks++;
        }
        assertTrue(blocks >= minBlocks, "java blocks in " + doc + ": " + blocks);
        return blocks;
    }

    /** The code with each line stripped and blank lines dropped: what "verbatim" compares. */
    public static String normalize(String code) {
        return Arrays.stream(code.split("\n")).map(String::strip).filter(l -> !l.isEmpty())
                .collect(Collectors.joining("\n"));
    }

    /** Examples in the Javadoc of one source file, comment markers removed. */
    static List<String> examples(String source) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("<pre>\\{@code\\n(.*?)\\n\\s*\\* \\}</pre>", Pattern.DOTALL).matcher(source);
        while (m.find()) {
            out.add(Arrays.stream(m.group(1).split("\n")).map(l -> l.replaceFirst("^\\s*\\* ?", ""))
                    .collect(Collectors.joining("\n")));
        }
        return out;
    }
}
