package org.regularize4j.penalty;

import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.shade.jackson.core.JsonParser;
import org.nd4j.shade.jackson.databind.DeserializationContext;
import org.nd4j.shade.jackson.databind.JsonDeserializer;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

import java.io.IOException;

/**
 * Reads an updater configuration saved under its old class name in this package ({@code "@class" :
 * "org.regularize4j.penalty.TorchSgd"}: every model saved before the updaters moved to
 * {@code org.regularize4j.optim}) as the class of the same simple name in {@code org.regularize4j.optim}. The old
 * names are kept as empty abstract classes ({@link TorchSgd}, {@link TorchAdam}) that point Jackson here, so
 * {@code ModelSerializer} restores such a model with no step on the caller's side. The new class is named by a
 * string, so that this package does not depend on {@code optim} (which depends on this one).
 */
class MovedToOptim extends JsonDeserializer<IUpdater> {
    static final String NEW_PACKAGE = "org.regularize4j.optim.";
    private final String simpleName;

    MovedToOptim(String simpleName) {
        this.simpleName = simpleName;
    }

    @Override
    public IUpdater deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        // the type property has been consumed; the rest of the object holds the updater's own properties
        ObjectNode node = p.getCodec().readTree(p);
        node.put("@class", NEW_PACKAGE + simpleName);
        return p.getCodec().treeToValue(node, IUpdater.class);
    }

    /** {@code org.regularize4j.penalty.TorchSgd} to {@code org.regularize4j.optim.TorchSgd}. */
    static final class Sgd extends MovedToOptim {
        Sgd() {
            super("TorchSgd");
        }
    }

    /** {@code org.regularize4j.penalty.TorchAdam} to {@code org.regularize4j.optim.TorchAdam}. */
    static final class Adam extends MovedToOptim {
        Adam() {
            super("TorchAdam");
        }
    }
}
