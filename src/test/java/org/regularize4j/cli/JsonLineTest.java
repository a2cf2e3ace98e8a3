package org.regularize4j.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class JsonLineTest {

    @Test
    void formatsEscapesAndWritesNullForNonFiniteNumbers() {
        String line = new JsonLine().put("model", "resnet20").put("test_accuracy", 0.91234, "%.4f").put("epochs", 15)
                .toString();   // {"model": "resnet20", "test_accuracy": 0.9123, "epochs": 15}
        assertEquals("{\"model\": \"resnet20\", \"test_accuracy\": 0.9123, \"epochs\": 15}", line);
        assertEquals("{\"a\": null, \"b\": null, \"c\": 5.0E-4, \"d\": true, \"e\": \"x\\\"y\\\\z\\n\\u0001\"}",
                new JsonLine().put("a", Double.NaN, "%.4f").put("b", Double.POSITIVE_INFINITY).put("c", 5e-4)
                        .put("d", true).put("e", "x\"y\\z\n\u0001").toString());
        assertEquals("{}", new JsonLine().toString());
    }
}
