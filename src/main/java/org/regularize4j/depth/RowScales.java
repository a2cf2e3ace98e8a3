package org.regularize4j.depth;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMultiplication;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.regularize4j.backend.NativeOps;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.util.Checks;

import java.util.Arrays;

/**
 * One multiplier per example (dimension 0), applied to a whole example at once: the stochastic-depth mask
 * without a full-size mask array.
 *
 * <p>The kernels never materialize an array of the input's size: a uniform multiplier (inference, BATCH
 * mode, or a batch whose rows all agree) becomes a scalar op, and mixed multipliers become one
 * "scalar along dimension" op (each example times its own scalar) reading a {@code [mb]} vector that
 * lives outside DL4J's workspaces, so that it survives from the forward pass to the backward pass.
 * Measured on [64, 64, 16, 16] floats: that op costs about as much as a copy, the shape-broadcast
 * {@code multiply} against {@code [mb, 1, 1, 1]} about 1.5x more, and {@code BroadcastMulOp} along
 * dimension 0 about 40x more.
 *
 * <pre>{@code
 * RowScales s = RowScales.of(new double[] {0.0, 2.0});
 * INDArray out = s.multiply(Nd4j.ones(2, 3), Nd4j.create(2, 3));   // [[0,0,0],[2,2,2]]
 * }</pre>
 */
public final class RowScales {
    private final double[] values;
    private final double uniformValue; // NaN when the rows differ
    private INDArray vector;           // detached, shape [mb]; created on first use

    private RowScales(double[] values) {
        this.values = values;
        double first = values[0];
        boolean same = true;
        for (double v : values) {
            if (v != first) {
                same = false;
                break;
            }
        }
        this.uniformValue = same ? first : Double.NaN;
    }

    /** Multipliers given per example; the array is copied. */
    public static RowScales of(double[] values) {
        Checks.notNull("values", values);
        if (values.length == 0) {
            throw new IllegalArgumentException("values must have at least one entry, got 0");
        }
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                throw new IllegalArgumentException("values[" + i + "] must be finite, got " + values[i]);
            }
        }
        return new RowScales(values.clone());
    }

    /** The same multiplier for all {@code numExamples} examples. */
    public static RowScales uniform(int numExamples, double value) {
        Checks.atLeast("numExamples", numExamples, 1);
        double[] v = new double[numExamples];
        Arrays.fill(v, value);
        return of(v);
    }

    /** Number of examples. */
    public int size() {
        return values.length;
    }

    /** Multiplier of example {@code i}. */
    public double get(int i) {
        return values[i];
    }

    /** A copy of all multipliers. */
    public double[] toArray() {
        return values.clone();
    }

    /** Whether every example has the same multiplier. */
    public boolean isUniform() {
        return !Double.isNaN(uniformValue);
    }

    /** Number of examples whose multiplier is not zero. */
    public int keptCount() {
        int n = 0;
        for (double v : values) {
            if (v != 0.0) {
                n++;
            }
        }
        return n;
    }

    /**
     * {@code out = s * x}, row by row. {@code out} must have x's shape and may be x itself.
     *
     * @return out
     */
    public INDArray multiply(INDArray x, INDArray out) {
        checkRows(x);
        if (isUniform()) {
            if (uniformValue == 1.0) {
                return out == x ? out : out.assign(x);
            }
            if (uniformValue == 0.0) {
                return out.assign(0.0);
            }
            Nd4j.getExecutioner().exec(new ScalarMultiplication(x, null, out, uniformValue));
            return out;
        }
        perExample(x, out);
        return out;
    }

    /**
     * {@code out = y + s * x}, row by row: the residual sum with a masked branch x and shortcut y.
     * {@code out} must have x's shape.
     *
     * @return out
     */
    public INDArray multiplyAdd(INDArray x, INDArray y, INDArray out) {
        checkRows(x);
        if (isUniform()) {
            if (uniformValue == 0.0) {
                return out.assign(y);
            }
            if (uniformValue == 1.0) {
                Nd4j.exec(new AddOp(x, y, out));
                return out;
            }
            Nd4j.getExecutioner().exec(new Axpy(x, y, out, uniformValue));
            return out;
        }
        perExample(x, out);
        Nd4j.exec(new AddOp(out, y, out));
        return out;
    }

    private void checkRows(INDArray x) {
        if (x.rank() < 1 || x.size(0) != values.length) {
            throw new IllegalArgumentException("array must have " + values.length
                    + " examples in dimension 0, got shape " + Arrays.toString(x.shape()));
        }
    }

    /** out[i] = values[i] * x[i] for every example i, in one op. */
    private void perExample(INDArray x, INDArray out) {
        INDArray v = vector;
        if (v == null || v.dataType() != x.dataType()) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                v = Nd4j.createFromArray(values).castTo(x.dataType());
            }
            vector = v;
        }
        if (isPlainC(x) && isPlainC(out)) {
            // each example is one contiguous run: "scalar along dimension", about the cost of a copy
            int[] exampleDims = new int[x.rank() - 1];
            for (int d = 0; d < exampleDims.length; d++) {
                exampleDims[d] = d + 1;
            }
            ScalarMultiplication op = new ScalarMultiplication(x, v, out, 0.0);
            op.setDimension(exampleDims);
            Nd4j.getExecutioner().exec(op);
        } else {
            // views and other orders (e.g. DL4J's permuted conv activations): shape-broadcast multiply
            long[] shape = new long[x.rank()];
            java.util.Arrays.fill(shape, 1L);
            shape[0] = values.length;
            Nd4j.exec(new MulOp(x, v.reshape(shape), out));
        }
    }

    private static boolean isPlainC(INDArray a) {
        return a.rank() >= 2 && a.offset() == 0 && NativeOps.isCContiguous(a);
    }

    @Override
    public String toString() {
        return "RowScales" + Arrays.toString(values);
    }
}
