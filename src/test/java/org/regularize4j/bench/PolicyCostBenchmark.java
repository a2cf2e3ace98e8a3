package org.regularize4j.bench;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.regularize4j.optim.TorchSgd;
import org.regularize4j.penalty.DecoupledWeightDecay;
import org.regularize4j.penalty.RegularizationPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Cost of the penalty policy: one training step ({@code fit} on one mini-batch: forward, backward, penalties,
 * updater) of a small ResNet built by hand (3x32x32 input, batch 32; a 16-channel conv + batch norm stem, three
 * residual blocks of conv-BN-relu-conv-BN with identity shortcuts added by an ElementWiseVertex, global average
 * pooling, a 10-way classifier; PyTorch-style SGD with Nesterov momentum) with
 * <ul>
 * <li>{@code none}: {@code RegularizationPolicy.none()}, no penalty at all (the baseline);</li>
 * <li>{@code standard}: {@code RegularizationPolicy.standard(5e-4)}, coupled L2 on the 8 weight parameters;</li>
 * <li>{@code standard-decoupled}: {@code standard(new DecoupledWeightDecay(5e-4))};</li>
 * <li>{@code dl4j-global-l2}: DL4J's own {@code .l2(5e-4)} on the global builder, for comparison.</li>
 * </ul>
 * The target: {@code standard} adds at most 3% to the step of {@code none}. {@link #main} runs JMH and
 * logs that ratio for each variant.
 *
 * <p>How to run (from the project root; JMH is a test-scope dependency and its annotation processor generates
 * the harness at test-compile time):
 * <pre>
 * mvn -q -B test-compile dependency:build-classpath -Dmdep.outputFile=target/test-cp.txt -Dmdep.includeScope=test
 * java -cp "target/test-classes:target/classes:$(cat target/test-cp.txt)" org.regularize4j.bench.PolicyCostBenchmark
 * </pre>
 * (about 6 minutes: 4 variants x 2 forks x (5 warmup + 10 measured) 2-second iterations; JMH options such as
 * {@code -f 3 -wi 10} can be passed by calling {@code org.openjdk.jmh.Main PolicyCostBenchmark} instead).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 2, jvmArgsAppend = {"-Xmx4g"})
public class PolicyCostBenchmark {
    private static final Logger log = LoggerFactory.getLogger(PolicyCostBenchmark.class);
    static final double WEIGHT_DECAY = 5e-4;

    @Param({"none", "standard", "standard-decoupled", "dl4j-global-l2"})
    public String penalty;

    private ComputationGraph net;
    private DataSet batch;

    /** The small ResNet; {@code dl4jGlobalL2} switches on DL4J's own global L2. */
    static ComputationGraphConfiguration smallResNet(boolean dl4jGlobalL2) {
        NeuralNetConfiguration.Builder global = new NeuralNetConfiguration.Builder().seed(12345)
                .dataType(DataType.FLOAT).updater(new TorchSgd(0.1, 0.9, true))
                .convolutionMode(ConvolutionMode.Same).activation(Activation.IDENTITY);
        if (dl4jGlobalL2) {
            global.l2(WEIGHT_DECAY);
        }
        int width = 16;
        ComputationGraphConfiguration.GraphBuilder b = global.graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(32, 32, 3))
                .addLayer("stem", new ConvolutionLayer.Builder(3, 3).nOut(width).hasBias(false).build(), "in")
                .addLayer("stembn", new BatchNormalization.Builder().build(), "stem")
                .addLayer("stemrelu", new ActivationLayer(Activation.RELU), "stembn");
        String prev = "stemrelu";
        for (int i = 1; i <= 3; i++) {
            String p = "b" + i;
            b.addLayer(p + "conv1", new ConvolutionLayer.Builder(3, 3).nOut(width).hasBias(false).build(), prev)
                    .addLayer(p + "bn1", new BatchNormalization.Builder().build(), p + "conv1")
                    .addLayer(p + "relu1", new ActivationLayer(Activation.RELU), p + "bn1")
                    .addLayer(p + "conv2", new ConvolutionLayer.Builder(3, 3).nOut(width).hasBias(false).build(),
                            p + "relu1")
                    .addLayer(p + "bn2", new BatchNormalization.Builder().build(), p + "conv2")
                    .addVertex(p + "add", new ElementWiseVertex(ElementWiseVertex.Op.Add), p + "bn2", prev)
                    .addLayer(p + "out", new ActivationLayer(Activation.RELU), p + "add");
            prev = p + "out";
        }
        return b.addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), prev)
                .addLayer("fc", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("fc").build();
    }

    /** Builds the network for the variant in {@link #penalty} and takes two warm-up steps. */
    @Setup(Level.Trial)
    public void setup() {
        build();
        net.fit(batch);
        net.fit(batch);
    }

    void build() {
        ComputationGraphConfiguration conf;
        switch (penalty) {
            case "none":
                conf = RegularizationPolicy.none().applyTo(smallResNet(false));
                break;
            case "standard":
                conf = RegularizationPolicy.standard(WEIGHT_DECAY).applyTo(smallResNet(false));
                break;
            case "standard-decoupled":
                conf = RegularizationPolicy.standard(new DecoupledWeightDecay(WEIGHT_DECAY)).applyTo(smallResNet(false));
                break;
            case "dl4j-global-l2":
                conf = smallResNet(true);
                break;
            default:
                throw new IllegalArgumentException("penalty must be none, standard, standard-decoupled or "
                        + "dl4j-global-l2, got " + penalty);
        }
        net = new ComputationGraph(conf);
        net.init();
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, 32, 3, 32, 32);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 32, 10);
        for (int i = 0; i < 32; i++) {
            y.putScalar(i, i % 10, 1.0);
        }
        batch = new DataSet(x, y);
    }

    /** One training step. */
    @Benchmark
    public double trainingStep() {
        net.fit(batch);
        return net.score();
    }

    ComputationGraph network() {
        return net;
    }

    /** Runs the benchmark and logs each variant's step time relative to {@code none}. */
    public static void main(String[] args) throws RunnerException {
        Collection<RunResult> results = new Runner(new OptionsBuilder()
                .include(PolicyCostBenchmark.class.getName() + ".trainingStep").build()).run();
        Map<String, double[]> byVariant = new LinkedHashMap<>();
        for (RunResult r : results) {
            String variant = r.getParams().getParam("penalty");
            byVariant.put(variant, new double[] {r.getPrimaryResult().getScore(),
                    r.getPrimaryResult().getScoreError()});
        }
        double[] base = byVariant.get("none");
        for (Map.Entry<String, double[]> e : byVariant.entrySet()) {
            double[] v = e.getValue();
            log.info(String.format("%-20s %8.3f ms/step ± %.3f   %+6.2f%% vs none", e.getKey(), v[0], v[1],
                    base == null ? Double.NaN : 100 * (v[0] / base[0] - 1)));
        }
    }
}
