package example;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.regularize4j.backend.DirectConv;
import org.regularize4j.backend.NativeBackend;
import org.regularize4j.backend.NativeKernels;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.data.FashionMnistIterator;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.resnet.ResidualBlockImpl;

/** Builds the library's ResNet-20 for Fashion-MNIST, trains a few steps and says which paths ran. */
public final class Main {
    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        ComputationGraph net = ResNet.cifar(20).inputShape(1, 28, 28).numClasses(10).seed(1)
                .stochasticDepth(DepthSchedule.linear(0.1)).build();
        DataSetIterator data = FashionMnistIterator.builder(FashionMnist.bundled(FashionMnist.Split.TRAIN))
                .batchSize(64).shuffle(true).seed(1).build();
        for (int i = 0; i < steps && data.hasNext(); i++) {
            net.fit(data.next());
            System.out.printf("step %d: loss %.4f%n", i + 1, net.score());
        }
        int blocks = 0;
        int channelsLast = 0;
        for (Layer l : net.getLayers()) {
            if (l instanceof ResidualBlockImpl) {
                blocks++;
                channelsLast += ((ResidualBlockImpl) l).wasChannelsLast() ? 1 : 0;
            }
        }
        System.out.println("backend:        " + NativeBackend.current().describe());
        System.out.println("DirectConv:     " + DirectConv.status());
        System.out.println("NativeKernels:  " + NativeKernels.status());
        System.out.println("channels-last:  " + channelsLast + " of " + blocks + " residual blocks");
    }
}
