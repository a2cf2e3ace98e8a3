package org.regularize4j.cli;

import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.resnet.ResNet;

import java.util.Locale;

/**
 * The model and schedule names the CLI accepts: {@code resnet<6n+2>} (CIFAR-style, e.g. resnet20, resnet56,
 * resnet110), {@code resnet18}/{@code resnet34}/{@code resnet50}/{@code resnet101}/{@code resnet152}
 * (ImageNet-style, torchvision's), and {@code linear}/{@code efficientnet}/{@code linspace}.
 *
 * <pre>{@code
 * ResNet r = Models.resnet("resnet20");
 * DepthSchedule s = Models.schedule("linear", 0.5);
 * }</pre>
 */
final class Models {
    private Models() {
    }

    /** The builder for a model name. */
    static ResNet resnet(String model) {
        String m = model.toLowerCase(Locale.ROOT);
        if (!m.startsWith("resnet")) {
            throw new IllegalArgumentException("model must be resnet<6n+2> (e.g. resnet20, resnet56, resnet110) or"
                    + " resnet18/34/50/101/152, got " + model);
        }
        int depth;
        try {
            depth = Integer.parseInt(m.substring("resnet".length()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("model must be resnet<6n+2> (e.g. resnet20, resnet56, resnet110) or"
                    + " resnet18/34/50/101/152, got " + model);
        }
        for (int d : ResNet.imagenetDepths()) {
            if (d == depth) {
                return ResNet.imagenet(depth);
            }
        }
        return ResNet.cifar(depth);
    }

    /** A depth schedule by name and rate (0 = off). */
    static DepthSchedule schedule(String name, double rate) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "linear":
                return DepthSchedule.linear(rate);
            case "efficientnet":
                return DepthSchedule.efficientNet(rate);
            case "linspace":
                return DepthSchedule.linspace(rate);
            default:
                throw new IllegalArgumentException("schedule must be linear, efficientnet or linspace, got " + name);
        }
    }

    /** Parses {@code CxHxW}, e.g. {@code 3x32x32}. */
    static long[] inputShape(String text) {
        String[] parts = text.toLowerCase(Locale.ROOT).split("x");
        if (parts.length != 3) {
            throw new IllegalArgumentException("input must be CxHxW, e.g. 3x32x32, got " + text);
        }
        long[] shape = new long[3];
        for (int i = 0; i < 3; i++) {
            try {
                shape[i] = Long.parseLong(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("input must be CxHxW, e.g. 3x32x32, got " + text);
            }
            if (shape[i] < 1) {
                throw new IllegalArgumentException("input dimensions must be >= 1, got " + text);
            }
        }
        return shape;
    }
}
