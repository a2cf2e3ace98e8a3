package org.regularize4j.distributed;

import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.parallelism.ParallelWrapper.TrainingMode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.resnet.ResNet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wall time of one epoch (the same examples, the same mini-batch size per worker) trained by one process
 * ({@code ComputationGraph.fit}) and by 2 ParallelWrapper workers (averaging and shared gradients), for a ResNet-20
 * with stochastic depth (linear 0.5, ROW) on 3x32x32 input. Not a test: run it with {@code scripts/worker-scaling}.
 * Arguments: {@code [examples=1024] [batch=32] [epochs=3] [ompThreads=0 (ND4J's default)]}. Each configuration
 * gets one warm-up epoch; the median epoch is reported, one JSON line per configuration.
 */
public final class WorkerScaling {
    private static final Logger log = LoggerFactory.getLogger(WorkerScaling.class);

    private WorkerScaling() {
    }

    static ComputationGraph net() {
        return ResNet.cifar(20).inputShape(3, 32, 32).numClasses(10)
                .stochasticDepth(DepthSchedule.linear(0.5), DropMode.ROW)
                .regularization(RegularizationPolicy.standard(5e-4)).seed(1).build();
    }

    static DataSet data(int n) {
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.rand(DataType.FLOAT, n, 3, 32, 32);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, 10);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, i % 10, 1.0);
        }
        return new DataSet(x, y);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s[s.length / 2];
    }

    public static void main(String[] args) {
        int examples = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int epochs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int omp = args.length > 3 ? Integer.parseInt(args[3]) : 0;
        if (omp > 0) {
            Nd4j.getEnvironment().setMaxThreads(omp);
            Nd4j.getEnvironment().setMaxMasterThreads(omp);
            NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(omp);
            Nd4j.factory().blas().setMaxThreads(omp);
        }
        DataSet data = data(examples);
        String threads = omp > 0 ? String.valueOf(omp)
                : String.valueOf(NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads());
        for (String config : new String[] {"1 worker", "2 workers AVERAGING", "2 workers SHARED_GRADIENTS"}) {
            ComputationGraph net = net();
            double[] seconds = new double[epochs];
            ParallelTraining training = config.startsWith("1") ? null : ParallelTraining.builder(net).workers(2)
                    .mode(TrainingMode.valueOf(config.substring(10))).build();
            for (int e = -1; e < epochs; e++) {
                ListDataSetIterator<DataSet> it = new ListDataSetIterator<>(data.asList(), batch);
                long t0 = System.nanoTime();
                if (training == null) {
                    net.fit(it);
                } else {
                    training.fit(it);
                }
                if (e >= 0) {
                    seconds[e] = (System.nanoTime() - t0) / 1e9;
                }
            }
            if (training != null) {
                training.close();
            }
            double s = median(seconds);
            log.info("{\"config\": \"{}\", \"examples\": {}, \"batch_per_worker\": {}, \"omp_threads\": {},"
                            + " \"epoch_seconds\": {}, \"img_per_s\": {}, \"all_epochs\": \"{}\"}", config, examples,
                    batch, threads, String.format("%.2f", s), String.format("%.1f", examples / s),
                    java.util.Arrays.toString(seconds));
        }
    }
}
