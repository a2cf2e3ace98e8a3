package org.regularize4j.resnet;

/**
 * How a residual block's shortcut changes shape when the block changes the number of channels or the
 * resolution (He et al. 2016, section 4.1). Blocks that keep the shape always use the identity.
 *
 * <ul>
 *   <li>{@link #ZERO_PAD} (option A): the identity, subsampled by the stride, with the extra channels filled
 *       with zeros; no parameters. He et al.'s and Huang et al.'s CIFAR networks.</li>
 *   <li>{@link #PROJECTION} (option B): 1x1 convolution with the stride, then batch norm. torchvision's
 *       choice and the ImageNet networks'.</li>
 * </ul>
 *
 * <pre>{@code
 * ComputationGraph net = ResNet.cifar(20).shortcut(ShortcutType.PROJECTION).build();
 * }</pre>
 */
public enum ShortcutType {
    /** Option A: zero-padded, subsampled identity. */
    ZERO_PAD,
    /** Option B: 1x1 convolution + batch norm. */
    PROJECTION
}
