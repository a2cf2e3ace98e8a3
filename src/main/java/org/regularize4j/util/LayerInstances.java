package org.regularize4j.util;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;

/**
 * The wiring every DL4J layer configuration's {@code instantiate} does for its implementation (listeners, index,
 * parameter view and table, configuration), in one place for this project's layers.
 */
public final class LayerInstances {
    private LayerInstances() {
    }

    /**
     * Wires {@code impl} as DL4J's own layer configurations do and returns it.
     *
     * @param initializer the configuration's parameter initializer (its {@code initializer()})
     */
    public static <L extends Layer> L bind(L impl, ParamInitializer initializer, NeuralNetConfiguration conf,
                                           Collection<TrainingListener> listeners, int layerIndex,
                                           INDArray layerParamsView, boolean initializeParams) {
        Checks.notNull("impl", impl);
        Checks.notNull("initializer", initializer);
        impl.setListeners(listeners);
        impl.setIndex(layerIndex);
        impl.setParamsViewArray(layerParamsView);
        impl.setParamTable(initializer.init(conf, layerParamsView, initializeParams));
        impl.setConf(conf);
        return impl;
    }
}
