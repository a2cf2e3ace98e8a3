package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * Where {@link ParamInfo} finds a parameter's shape and memory order: the live parameter of an initialized
 * network, or (for a configuration) the views the layer's ParamInitializer makes over a scratch array,
 * created on first use only.
 */
abstract class ParamShapes {

    abstract INDArray template(String paramName);

    static ParamShapes live(org.deeplearning4j.nn.api.Layer layer) {
        return new ParamShapes() {
            @Override
            INDArray template(String paramName) {
                INDArray p = layer.paramTable(false).get(paramName);
                if (p == null) {
                    throw new IllegalStateException("layer '" + layer.conf().getLayer().getLayerName()
                            + "' has no parameter '" + paramName + "'");
                }
                return p;
            }
        };
    }

    static ParamShapes config(NeuralNetConfiguration layerConf) {
        return new ParamShapes() {
            private Map<String, INDArray> views;

            @Override
            synchronized INDArray template(String paramName) {
                if (views == null) {
                    views = scratchViews(layerConf);
                }
                INDArray p = views.get(paramName);
                if (p == null) {
                    throw new IllegalStateException("layer '" + layerConf.getLayer().getLayerName()
                            + "' has no parameter '" + paramName + "'");
                }
                return p;
            }
        };
    }

    private static Map<String, INDArray> scratchViews(NeuralNetConfiguration layerConf) {
        String name = layerConf.getLayer().getLayerName();
        long n;
        try {
            n = layerConf.getLayer().initializer().numParams(layerConf);
        } catch (RuntimeException e) {
            throw new IllegalStateException("parameter shapes of layer '" + name + "' are not known yet (" + e
                    + "); apply the policy to the built configuration, where nIn is set", e);
        }
        if (n <= 0) {
            throw new IllegalStateException("parameter shapes of layer '" + name + "' are not known yet (0 parameters);"
                    + " apply the policy to the built configuration, where nIn is set");
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray scratch = Nd4j.create(Nd4j.defaultFloatingPointType(), 1, n);
            return layerConf.getLayer().initializer().init(layerConf, scratch, false);
        }
    }
}
