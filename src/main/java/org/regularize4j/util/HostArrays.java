package org.regularize4j.util;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.backend.NativeOps;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;

/**
 * Bulk copies between ND4J arrays and Java arrays, in 'c' order: one memory copy each way (an ND4J {@code dup} plus
 * {@code asFloat()} plus {@code Nd4j.create(float[])} cost three). For the batch-side regularizers, which do their
 * arithmetic in Java arrays and make one ND4J array at the end.
 */
public final class HostArrays {
    private HostArrays() {
    }

    /** The values of {@code a} in 'c' order as floats (a float array's own values; others cast). */
    public static float[] floats(INDArray a) {
        INDArray c = contiguousAs(a, DataType.FLOAT);
        float[] out = new float[(int) c.length()];
        FloatBuffer b = c.data().asNioFloat();
        b.position((int) c.offset());
        b.get(out);
        return out;
    }

    /** The values of {@code a} in 'c' order as doubles. */
    public static double[] doubles(INDArray a) {
        INDArray c = contiguousAs(a, DataType.DOUBLE);
        double[] out = new double[(int) c.length()];
        DoubleBuffer b = c.data().asNioDouble();
        b.position((int) c.offset());
        b.get(out);
        return out;
    }

    /** A new 'c'-ordered float array of {@code shape} holding {@code values}. */
    public static INDArray of(float[] values, long[] shape) {
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
        checkLength(values.length, out);
        FloatBuffer b = out.data().asNioFloat();
        b.position((int) out.offset());
        b.put(values);
        return out;
    }

    /** A new 'c'-ordered array of {@code shape} and {@code type} holding {@code values} (cast when not double). */
    public static INDArray of(double[] values, long[] shape, DataType type) {
        INDArray out = Nd4j.createUninitialized(DataType.DOUBLE, shape, 'c');
        checkLength(values.length, out);
        DoubleBuffer b = out.data().asNioDouble();
        b.position((int) out.offset());
        b.put(values);
        return type == DataType.DOUBLE ? out : out.castTo(type);
    }

    /** A view of {@code a}'s float values from its first element on (index 0 = element 0 of a 'c'-contiguous array). */
    public static FloatBuffer floatBuffer(INDArray a) {
        FloatBuffer b = a.data().asNioFloat();
        if (a.offset() != 0) {
            b.position((int) a.offset());
            b = b.slice();
        }
        return b;
    }

    /** A view of {@code a}'s double values from its first element on. */
    public static DoubleBuffer doubleBuffer(INDArray a) {
        DoubleBuffer b = a.data().asNioDouble();
        if (a.offset() != 0) {
            b.position((int) a.offset());
            b = b.slice();
        }
        return b;
    }

    private static void checkLength(int length, INDArray out) {
        if (length != out.length()) {
            throw new IllegalArgumentException("values must have " + out.length() + " elements for shape "
                    + java.util.Arrays.toString(out.shape()) + ", got " + length);
        }
    }

    private static INDArray contiguousAs(INDArray a, DataType type) {
        Checks.notNull("array", a);
        if (a.length() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("arrays of at most 2^31 - 9 values, got shape "
                    + java.util.Arrays.toString(a.shape()));
        }
        INDArray t = a.dataType() == type ? a : a.castTo(type);
        return NativeOps.isCContiguous(t) ? t : t.dup('c');
    }
}
