package org.regularize4j.penalty;

import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.shade.jackson.databind.annotation.JsonDeserialize;

/**
 * The old name of {@code org.regularize4j.optim.TorchSgd}, which lived in this package until the optimizers moved to
 * {@code org.regularize4j.optim}. It exists only so that models saved before the move still load: their JSON
 * names this class, and {@link MovedToOptim} reads it as the new one. Never instantiated.
 *
 * @deprecated use {@code org.regularize4j.optim.TorchSgd}
 */
@Deprecated
@JsonDeserialize(using = MovedToOptim.Sgd.class)
abstract class TorchSgd implements IUpdater {
    private static final long serialVersionUID = 1L;

    private TorchSgd() {
    }

    @Override
    public abstract IUpdater clone();
}
