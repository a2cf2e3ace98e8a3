package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.regularize4j.optim.TorchAdam;
import org.regularize4j.optim.TorchOptimizer;
import org.regularize4j.optim.TorchSgd;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every configuration class: JSON round trip with DL4J's mapper (which ignores unknown properties, so a field
 * that does not round-trip would silently reset: equality is asserted and every declared field is checked to
 * appear in the JSON), Java serialization round trip, and ModelSerializer save/load of networks using them
 * (configuration equal, outputs equal, and training continues identically, so updater state round-trips too).
 */
@ExtendWith(SingleThreadedNd4j.class)
class SerializationTest {
    private static final ObjectMapper JSON = NeuralNetConfiguration.mapper();

    static List<Regularization> penalties() {
        INDArray ref = Nd4j.rand(DataType.FLOAT, 3, 4).dup('f');
        return List.of(
                new L1Penalty(1e-4), new L1Penalty(new StepSchedule(ScheduleType.EPOCH, 1e-3, 0.5, 10)),
                new L2Penalty(5e-4), new L2Penalty(new ExponentialSchedule(ScheduleType.ITERATION, 1e-3, 0.99)),
                new ElasticNet(1e-5, 2e-4), new ElasticNet(new StepSchedule(ScheduleType.EPOCH, 1e-3, 0.5, 3),
                        new ExponentialSchedule(ScheduleType.EPOCH, 2e-3, 0.9)),
                new DecoupledWeightDecay(0.05), new DecoupledWeightDecay(new StepSchedule(ScheduleType.EPOCH, 0.05, 0.1,
                        30)),
                new ProximalL1(3e-3), new ProximalL1(new ExponentialSchedule(ScheduleType.ITERATION, 1e-3, 0.999)),
                new L2SP(1e-2, ref), new L2SP(new StepSchedule(ScheduleType.EPOCH, 1e-2, 0.5, 5),
                        Nd4j.rand(DataType.DOUBLE, 2, 3), 'c'),
                new OrthogonalPenalty(0.01, OrthogonalPenalty.Mode.ROWS),
                new OrthogonalPenalty(new ExponentialSchedule(ScheduleType.EPOCH, 0.1, 0.9), OrthogonalPenalty.Mode.COLUMNS)
                        .boundTo(new long[] {8, 4}, 'f'));
    }

    /** Every non-null, non-static, non-transient field declared by the class must appear as a JSON property. */
    static void assertAllFieldsInJson(Object o, String json) throws IllegalAccessException {
        for (Field f : o.getClass().getDeclaredFields()) {
            int m = f.getModifiers();
            f.setAccessible(true);
            if (!Modifier.isStatic(m) && !Modifier.isTransient(m) && f.get(o) != null) {
                assertTrue(json.contains("\"" + f.getName() + "\""), o.getClass().getSimpleName() + "." + f.getName()
                        + " missing from " + json);
            }
        }
    }

    @SuppressWarnings("unchecked")
    static <T extends Serializable> T javaRoundTrip(T o) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (T) in.readObject();
        }
    }

    @Test
    void penaltiesJsonAndJavaRoundTrip() throws Exception {
        for (Regularization r : penalties()) {
            String json = JSON.writeValueAsString(r);
            Regularization back = JSON.readValue(json, Regularization.class);
            assertEquals(r, back, json);
            assertEquals(r.getClass(), back.getClass());
            assertAllFieldsInJson(r, json);
            assertEquals(r, javaRoundTrip(r));
            assertEquals(r, r.clone());
        }
        L2SP original = (L2SP) penalties().get(10);
        L2SP back = (L2SP) JSON.readValue(JSON.writeValueAsString(original), Regularization.class);
        assertEquals('f', back.getParamOrder());
        assertEquals(DataType.FLOAT, back.getReference().dataType());
    }

    @Test
    void updatersJsonAndJavaRoundTrip() throws Exception {
        List<IUpdater> updaters = List.of(new TorchAdam(2e-3, 0.8, 0.95, 1e-7),
                new TorchAdam(new ExponentialSchedule(ScheduleType.EPOCH, 1e-3, 0.9), 0.85, 0.99, 1e-6),
                new TorchSgd(0.1, 0.9, true), new TorchSgd(new StepSchedule(ScheduleType.EPOCH, 0.1, 0.1, 30), 0.5,
                        false), new TorchSgd(0.05, 0.0, false));
        for (IUpdater u : updaters) {
            String json = JSON.writeValueAsString(u);
            IUpdater back = JSON.readValue(json, IUpdater.class);
            assertEquals(u, back, json);
            assertAllFieldsInJson(u, json);
            assertEquals(u, javaRoundTrip(u));
            assertEquals(u, u.clone());
            assertNotSame(u, u.clone());
        }
    }

    static PenalizedBatchNormalization penalizedBn() {
        PenalizedBatchNormalization bn = PenalizedBatchNormalization.of(new BatchNormalization.Builder().nOut(4)
                .decay(0.95).eps(1e-3).build());
        bn.setRegularizationByParam("gamma", List.of(new L2Penalty(1e-5)));
        bn.setRegularizationByParam("beta", List.of(new L1Penalty(1e-6), new DecoupledWeightDecay(1e-2)));
        return bn;
    }

    @Test
    void layersJsonAndJavaRoundTrip() throws Exception {
        List<Layer> layers = List.of(new ActivityRegularization(1e-4, 2e-3),
                new ActivityRegularization.Builder().l1(0.5).rnnDataFormat(RNNFormat.NWC).name("act").build(),
                penalizedBn());
        for (Layer l : layers) {
            String json = JSON.writeValueAsString(l);
            Layer back = JSON.readValue(json, Layer.class);
            assertEquals(l, back, json);
            assertEquals(l.getClass(), back.getClass());
            assertAllFieldsInJson(l, json);
            assertEquals(l, javaRoundTrip(l));
            assertEquals(l, l.clone());
        }
        // Not equal to the stock layer with the same settings (and the other way round).
        BatchNormalization stock = new BatchNormalization.Builder().nOut(4).decay(0.95).eps(1e-3).build();
        PenalizedBatchNormalization same = PenalizedBatchNormalization.of(stock);
        assertTrue(!stock.equals(same) && !same.equals(stock));
        assertEquals(same, PenalizedBatchNormalization.of(stock));
    }

    @Test
    void policyAndOptimizerJavaRoundTrip() throws Exception {
        RegularizationPolicy policy = RegularizationPolicy.standard(5e-4).toBuilder()
                .alsoPenalize(Selector.layers("fc*").withKinds(ParamKind.WEIGHT).withParams("W"), new L1Penalty(1e-5))
                .rule(Rule.exempt(Selector.layersMatching("emb.*").withLayerTypes(DenseLayer.class)).optional()
                        .named("no decay on embeddings"))
                .penalize(Selector.kinds(ParamKind.NORM), new L2SP(1e-2, Nd4j.ones(1, 4)))
                .build();
        assertEquals(policy, javaRoundTrip(policy));
        TorchOptimizer opt = TorchOptimizer.adamW(new ExponentialSchedule(ScheduleType.EPOCH, 1e-3, 0.9), 0.05);
        assertEquals(opt, javaRoundTrip(opt));
    }

    /**
     * A ResNet-like graph using every penalty (OrthogonalPenalty bound by the policy), PenalizedBatchNormalization,
     * ActivityRegularization, TorchAdam.
     */
    static ComputationGraph everythingGraph() {
        ComputationGraphConfiguration conf = TestNets.resnetConf(3, 8, 4, 2, 3, new TorchAdam(1e-2), DataType.FLOAT,
                null, PenalizedBatchNormalization::of, new ActivityRegularization(1e-3, 1e-2));
        ComputationGraph pretrained = TestNets.init(conf.clone());
        ComputationGraph net = TestNets.init(RegularizationPolicy.builder()
                .penalize(Selector.layers("stem").withKinds(ParamKind.WEIGHT), new L1Penalty(1e-4))
                .penalize(Selector.layers("b1*").withKinds(ParamKind.WEIGHT), L2SP.towards(1e-2, pretrained))
                .penalize(Selector.layers("b2conv1").withKinds(ParamKind.WEIGHT), new ElasticNet(1e-5, 1e-4),
                        new OrthogonalPenalty(0.05, OrthogonalPenalty.Mode.ROWS))
                .penalize(Selector.layers("b2conv2").withKinds(ParamKind.WEIGHT), new DecoupledWeightDecay(0.05))
                .penalize(Selector.layers("fc").withKinds(ParamKind.WEIGHT), new L2Penalty(5e-4), new ProximalL1(1e-3))
                .penalize(Selector.kinds(ParamKind.NORM), new L2Penalty(new StepSchedule(ScheduleType.ITERATION,
                        1e-4, 0.5, 1)))
                .build().applyTo(conf));
        return net;
    }

    @Test
    void modelSerializerRoundTripGraph(@TempDir File dir) throws Exception {
        ComputationGraph net = everythingGraph();
        DataSet ds = TestNets.data(new long[] {4, 3, 8, 8}, 3, 3, DataType.FLOAT);
        net.fit(ds);
        net.fit(ds);
        File f = new File(dir, "graph.zip");
        ModelSerializer.writeModel(net, f, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(f, true);
        assertEquals(net.getConfiguration(), restored.getConfiguration());
        assertEquals(net.getConfiguration().toJson(), restored.getConfiguration().toJson());
        assertEquals(net.params(), restored.params());
        assertEquals(net.outputSingle(ds.getFeatures()), restored.outputSingle(ds.getFeatures()));
        assertEquals(PenaltyTable.of(net).rows(), PenaltyTable.of(restored).rows());
        assertEquals(net.score(ds), restored.score(ds), 0.0);   // includes the activity penalty
        // L2SP references are the pretrained weights, saved with the model, not the trained ones.
        L2SP l2sp = (L2SP) restored.getLayer("b1conv1").conf().getLayer().getRegularizationByParam("W").get(0);
        L2SP original = (L2SP) net.getLayer("b1conv1").conf().getLayer().getRegularizationByParam("W").get(0);
        assertEquals(original, l2sp);
        assertTrue(!l2sp.getReference().equals(restored.getLayer("b1conv1").getParam("W")));
        // Training continues identically: updater state (TorchAdam's m and v) and iteration count round-trip.
        net.fit(ds);
        restored.fit(ds);
        assertEquals(0.0, net.params().sub(restored.params()).amaxNumber().doubleValue(), 0.0);
    }

    @Test
    void modelSerializerRoundTripMultiLayer(@TempDir File dir) throws Exception {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3)
                .updater(new TorchSgd(new StepSchedule(ScheduleType.ITERATION, 0.1, 0.5, 2), 0.9, true)).list()
                .layer(new DenseLayer.Builder().nOut(6).activation(Activation.TANH).build())
                .layer(new ActivityRegularization(1e-3, 1e-2))
                .layer(penalizedBn())
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(5)).build();
        TorchOptimizer.sgdW(0.1, 0.9, 1e-2).standardPolicy().toBuilder()
                .penalize(Selector.kinds(ParamKind.NORM), new L2Penalty(1e-4))
                .alsoPenalize(Selector.layers("layer3").withKinds(ParamKind.BIAS), new ElasticNet(1e-4, 1e-3))
                .build().applyTo(conf);
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        DataSet ds = TestNets.data(new long[] {6, 5}, 3, 4, DataType.FLOAT);
        net.fit(ds);
        File f = new File(dir, "mln.zip");
        ModelSerializer.writeModel(net, f, true);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(f, true);
        assertEquals(net.getLayerWiseConfigurations(), restored.getLayerWiseConfigurations());
        assertEquals(net.output(ds.getFeatures()), restored.output(ds.getFeatures()));
        assertEquals(net.score(ds), restored.score(ds), 0.0);
        net.fit(ds);
        restored.fit(ds);
        assertEquals(0.0, net.params().sub(restored.params()).amaxNumber().doubleValue(), 0.0);
        // JSON and Java serialization of the whole configuration.
        assertEquals(conf, MultiLayerConfiguration.fromJson(conf.toJson()));
        assertEquals(conf, javaRoundTrip(conf));
        ComputationGraphConfiguration g = everythingGraph().getConfiguration();
        assertEquals(g, ComputationGraphConfiguration.fromJson(g.toJson()));
        assertEquals(g, javaRoundTrip(g));
        assertTrue(((LayerVertex) g.getVertices().get("stembn")).getLayerConf().getLayer()
                instanceof PenalizedBatchNormalization);
        assertTrue(((LayerVertex) g.getVertices().get("act")).getLayerConf().getLayer()
                instanceof ActivityRegularization);
    }
}
