package org.regularize4j.resnet;

/**
 * The residual branch of a block (He et al. 2016).
 *
 * <ul>
 *   <li>{@link #BASIC}: 3x3 conv (stride) → BN → ReLU → 3x3 conv → BN. ResNet-18/34 and the CIFAR ResNets.</li>
 *   <li>{@link #BOTTLENECK}: 1x1 conv → BN → ReLU → 3x3 conv (stride) → BN → ReLU → 1x1 conv → BN, with
 *       the stride on the 3x3 convolution (torchvision's "ResNet v1.5"). ResNet-50/101/152.</li>
 * </ul>
 *
 * <pre>{@code
 * ResidualBlock b = new ResidualBlock.Builder().blockType(BlockType.BOTTLENECK).nIn(256).nOut(256).build();
 * }</pre>
 */
public enum BlockType {
    /** Two 3x3 convolutions. */
    BASIC,
    /** 1x1, 3x3, 1x1 convolutions with a narrower middle. */
    BOTTLENECK
}
