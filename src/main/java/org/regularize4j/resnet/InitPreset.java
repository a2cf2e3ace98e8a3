package org.regularize4j.resnet;

/**
 * Where a {@link ResNet}'s initial weights come from. The choice changes training, not only the first steps:
 * a convolution followed by batch norm is invariant to the scale of its weights, so the weights' initial
 * norm sets their effective learning rate ({@code lr / |w|²}) and how strongly weight decay acts. A recipe
 * ported from PyTorch reaches PyTorch's accuracy only with PyTorch's init (docs/results.md measures it).
 *
 * <ul>
 *   <li>{@link #PYTORCH}: what a PyTorch model gets when it sets no init itself (as the CIFAR ResNets of most
 *       recipes): {@code nn.Conv2d} and {@code nn.Linear} weights {@code kaiming_uniform_(a=√5)}, which is
 *       U(−1/√fanIn, 1/√fanIn) (DL4J's {@code WeightInit.UNIFORM}, variance 1/(3·fanIn)), and the
 *       {@code nn.Linear} bias U(−1/√fanIn, 1/√fanIn). Batch norm: gamma 1, beta 0.</li>
 *   <li>{@link #HE}: He et al.'s init, N(0, 2/fanIn) ({@code WeightInit.RELU}, what torchvision's ResNets set
 *       with {@code kaiming_normal_}, there with fanOut) for the convolutions, Xavier for the classifier, zero
 *       classifier bias.</li>
 * </ul>
 *
 * <pre>{@code
 * ComputationGraph net = ResNet.cifar(20).inputShape(1, 28, 28).weightInit(InitPreset.PYTORCH).build();
 * }</pre>
 */
public enum InitPreset {
    /** PyTorch's defaults: U(±1/√fanIn) for convolution and classifier weights and the classifier bias. */
    PYTORCH,
    /** He-normal convolutions, Xavier classifier weights, zero classifier bias. */
    HE
}
