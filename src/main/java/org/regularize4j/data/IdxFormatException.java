package org.regularize4j.data;

import java.io.IOException;

/**
 * An IDX file (or a pair of image and label files) that cannot be what it claims to be: a wrong magic number,
 * a truncated or corrupt file, bytes after the data, image and label counts that differ, a label outside the
 * classes. The message starts with the file it is about and says what is wrong.
 *
 * <pre>{@code
 * String problem;
 * try {
 *     Idx.readLabels(Paths.get("/no/such/dir/train-labels-idx1-ubyte.gz"));
 *     problem = "none";
 * } catch (IdxFormatException e) {
 *     problem = e.getMessage();   // e.g. "...labels-idx1-ubyte.gz: truncated: the header announces 60000 labels, ..."
 * } catch (IOException e) {
 *     problem = e.toString();     // the file cannot be read at all: NoSuchFileException, ...
 * }
 * }</pre>
 */
public class IdxFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    /** @param message starts with the file name and says what is wrong */
    public IdxFormatException(String message) {
        super(message);
    }

    /** @param message starts with the file name and says what is wrong */
    public IdxFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
