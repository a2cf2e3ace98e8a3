package org.regularize4j.cli;

import java.util.Locale;

/**
 * Builds the one-line JSON object that ends every command: keys in insertion order, numbers formatted as
 * asked, strings escaped, non-finite numbers written as null (JSON has no NaN).
 *
 * <pre>{@code
 * String line = new JsonLine().put("model", "resnet20").put("test_accuracy", 0.91234, "%.4f").put("epochs", 15)
 *         .toString();   // {"model": "resnet20", "test_accuracy": 0.9123, "epochs": 15}
 * }</pre>
 */
final class JsonLine {
    private final StringBuilder sb = new StringBuilder("{");

    JsonLine put(String key, String value) {
        return raw(key, value == null ? "null" : quote(value));
    }

    JsonLine put(String key, long value) {
        return raw(key, Long.toString(value));
    }

    JsonLine put(String key, boolean value) {
        return raw(key, Boolean.toString(value));
    }

    /** A number in {@code format} (e.g. {@code %.4f}); NaN and infinities become null. */
    JsonLine put(String key, double value, String format) {
        return raw(key, Double.isFinite(value) ? String.format(Locale.ROOT, format, value) : "null");
    }

    /** A number in its shortest exact form (e.g. 5.0E-4 becomes 5.0E-4, 0.1 stays 0.1). */
    JsonLine put(String key, double value) {
        return raw(key, Double.isFinite(value) ? Double.toString(value) : "null");
    }

    private JsonLine raw(String key, String json) {
        if (sb.length() > 1) {
            sb.append(", ");
        }
        sb.append(quote(key)).append(": ").append(json);
        return this;
    }

    static String quote(String s) {
        StringBuilder q = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"':
                    q.append("\\\"");
                    break;
                case '\\':
                    q.append("\\\\");
                    break;
                case '\n':
                    q.append("\\n");
                    break;
                case '\r':
                    q.append("\\r");
                    break;
                case '\t':
                    q.append("\\t");
                    break;
                default:
                    if (c < 0x20) {
                        q.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        q.append(c);
                    }
            }
        }
        return q.append('"').toString();
    }

    @Override
    public String toString() {
        return sb + "}";
    }
}
