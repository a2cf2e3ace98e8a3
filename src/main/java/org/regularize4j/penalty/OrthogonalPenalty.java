package org.regularize4j.penalty;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.util.Checks;

import java.util.Arrays;
import java.util.Objects;

/**
 * Keras's {@code OrthogonalRegularizer(factor, mode)}: pushes the rows (or columns) of a weight matrix toward
 * being orthogonal. With {@code U} the matrix whose {@code n} rows (mode {@link Mode#ROWS}) or columns
 * ({@link Mode#COLUMNS}) are L2-normalized and {@code P} their Gram matrix ({@code U Uᵀ}, resp. {@code Uᵀ U}):
 * <pre>
 * penalty = factor · 0.5 · Σ_{i≠j} |P_ij| / (n(n−1)/2)
 * </pre>
 * the mean absolute cosine between distinct rows (columns), times {@code factor / 2}. Normalization is Keras's:
 * {@code x · min(1/‖x‖, 1/ε)} with {@code ε = 1e-7}, so a zero row stays zero. The gradient is exact; at
 * {@code P_ij = 0}, where {@code |·|} has no derivative, it uses the subgradient 0 ({@code sign(0) = 0}, as
 * TensorFlow's and PyTorch's {@code abs} do). Added to the loss gradient before the updater; the score is the
 * penalty.
 *
 * <p><b>Layouts.</b> A dense weight is used as it is: DL4J's {@code W} is {@code [nIn, nOut]}, the layout of
 * Keras's {@code Dense} kernel {@code (input_dim, units)}, so {@code ROWS} and {@code COLUMNS} mean exactly what
 * they mean in Keras ({@code COLUMNS} makes the units' weight vectors orthogonal). A convolution kernel
 * {@code [out, in, kH, kW]} (any rank above 2: {@code [out, ...]}) is taken as the matrix
 * {@code [out, in·kH·kW]} (row-major, PyTorch's {@code weight.view(out, -1)}), so {@code ROWS} makes the filters
 * orthogonal. Keras accepts only rank-2 inputs; its {@code Conv2D} kernel {@code (kH, kW, in, out)} reshaped to
 * {@code (kH·kW·in, out)} has the filters as columns: our {@code ROWS} on a convolution is Keras's {@code COLUMNS}
 * on that reshaped kernel.
 *
 * <p><b>Shape binding.</b> DL4J hands a penalty's {@code apply} the parameter as a flat vector (in the parameter's
 * memory order), without its shape. A {@link RegularizationPolicy} binds each selected parameter's own copy to its
 * shape and order ({@link #boundTo}); a layer's {@code .regularization(...)} list needs a bound instance. A
 * matrix needs at least 2 rows (columns) to have pairs: fewer is rejected where it is bound.
 *
 * <pre>{@code
 * RegularizationPolicy policy = RegularizationPolicy.standard(5e-4).toBuilder()
 *         .alsoPenalize(Selector.layers("conv*").withKinds(ParamKind.WEIGHT),
 *                 new OrthogonalPenalty(0.01, OrthogonalPenalty.Mode.ROWS))
 *         .build();
 * Regularization dense = new OrthogonalPenalty(0.01, OrthogonalPenalty.Mode.COLUMNS).boundTo(new long[] {8, 4}, 'f');
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class OrthogonalPenalty implements Regularization {
    private static final long serialVersionUID = 1L;
    /** Keras's {@code backend.epsilon()}, the lower bound of a norm in its {@code normalize}. */
    public static final double EPSILON = 1e-7;

    /**
     * Which vectors of the matrix are pushed toward orthogonality.
     *
     * <pre>{@code
     * OrthogonalPenalty.Mode filters = OrthogonalPenalty.Mode.ROWS;   // of a convolution kernel: its filters
     * }</pre>
     */
    public enum Mode {
        /** The rows (Keras's {@code "rows"}, its default): of a convolution, the filters. */
        ROWS,
        /** The columns (Keras's {@code "columns"}): of a dense weight {@code [nIn, nOut]}, the units. */
        COLUMNS
    }

    @JsonProperty("factor")
    private final ISchedule factor;
    @JsonProperty("mode")
    private final Mode mode;
    /** The parameter's shape, or null while unbound. */
    @JsonProperty("shape")
    private final long[] shape;
    /** Memory order of the bound parameter (the order of the flat views DL4J passes). */
    @JsonProperty("paramOrder")
    private final char paramOrder;

    /**
     * An unbound penalty, for {@link RegularizationPolicy} rules (which bind one copy per parameter).
     *
     * @param factor finite and {@code >= 0} (Keras's default is 0.01)
     * @param mode   ROWS or COLUMNS
     */
    public OrthogonalPenalty(double factor, Mode mode) {
        this(Coefficient.fixed("factor", factor), mode, null, 'c');
    }

    /** As {@link #OrthogonalPenalty(double, Mode)} with a scheduled factor. */
    public OrthogonalPenalty(ISchedule factor, Mode mode) {
        this(factor, mode, null, 'c');
    }

    @JsonCreator
    private OrthogonalPenalty(@JsonProperty("factor") ISchedule factor, @JsonProperty("mode") Mode mode,
                              @JsonProperty("shape") long[] shape, @JsonProperty("paramOrder") char paramOrder) {
        this.factor = Coefficient.schedule("factor", factor);
        this.mode = Checks.notNull("mode", mode);
        if (paramOrder != 'c' && paramOrder != 'f') {
            throw new IllegalArgumentException("paramOrder must be 'c' or 'f', got '" + paramOrder + "'");
        }
        if (shape != null) {
            checkShape(shape, mode);
        }
        this.shape = shape == null ? null : shape.clone();
        this.paramOrder = paramOrder;
    }

    /**
     * This penalty bound to one parameter's shape and memory order (what a {@link RegularizationPolicy} does for
     * each parameter it selects).
     *
     * @param shape      the parameter's shape, rank &gt;= 2 ({@code [nIn, nOut]}, {@code [out, in, kH, kW]}, ...)
     * @param paramOrder the parameter's memory order in the network, 'c' or 'f'
     * @throws IllegalArgumentException if the shape has fewer than 2 rows (columns), or this is bound to another
     */
    public OrthogonalPenalty boundTo(long[] shape, char paramOrder) {
        Checks.notNull("shape", shape);
        if (this.shape != null && !(Arrays.equals(this.shape, shape) && this.paramOrder == paramOrder)) {
            throw new IllegalArgumentException("this OrthogonalPenalty is bound to shape " + Arrays.toString(this.shape)
                    + " ('" + this.paramOrder + "' order), not " + Arrays.toString(shape) + " ('" + paramOrder + "')");
        }
        return new OrthogonalPenalty(factor.clone(), mode, shape, paramOrder);
    }

    private static void checkShape(long[] shape, Mode mode) {
        if (shape.length < 2) {
            throw new IllegalArgumentException("OrthogonalPenalty needs a parameter of rank >= 2 (a matrix or a kernel),"
                    + " got shape " + Arrays.toString(shape));
        }
        long[] m = matrixShape(shape);
        long n = mode == Mode.ROWS ? m[0] : m[1];
        if (n < 2) {
            throw new IllegalArgumentException("OrthogonalPenalty in mode " + mode + " needs at least 2 "
                    + (mode == Mode.ROWS ? "rows" : "columns") + ", got shape " + Arrays.toString(shape)
                    + " (as a matrix " + Arrays.toString(m) + ")");
        }
    }

    /** {@code [rows, cols]}: a matrix as it is, a kernel {@code [out, ...]} as {@code [out, product of the rest]}. */
    static long[] matrixShape(long[] shape) {
        long rest = 1;
        for (int i = 1; i < shape.length; i++) {
            rest *= shape[i];
        }
        return new long[] {shape[0], rest};
    }

    public ISchedule getFactor() {
        return factor;
    }

    public Mode getMode() {
        return mode;
    }

    /** The bound shape, or null. */
    public long[] getShape() {
        return shape == null ? null : shape.clone();
    }

    @Override
    public ApplyStep applyStep() {
        return ApplyStep.BEFORE_UPDATER;
    }

    @Override
    public void apply(INDArray param, INDArray gradView, double lr, int iteration, int epoch) {
        double f = Coefficient.valueAt("factor", factor, iteration, epoch);
        if (f == 0.0) {
            return;
        }
        long[] s = shapeOf(param);
        INDArray g = gradientOfMatrix(matrix(param, s), f).reshape('c', s);
        if (gradView.rank() == 1 || !Arrays.equals(gradView.shape(), s)) {
            gradView.addi(g.reshape(paramOrderFor(param), gradView.shape()));
        } else {
            gradView.addi(g);
        }
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
        double f = Coefficient.valueAt("factor", factor, iteration, epoch);
        if (f == 0.0) {
            return 0.0;
        }
        Normalized u = normalized(oriented(matrix(param, shapeOf(param))));
        return f * 0.5 * u.offDiagonalAbsSum() / u.numPairs();
    }

    // ------------------------------------------------------------------------------------------ math

    /** The parameter's shape: the bound one (DL4J's flat views have none), else its own. */
    private long[] shapeOf(INDArray param) {
        if (shape == null) {
            if (param.rank() < 2) {
                throw new IllegalStateException("OrthogonalPenalty got a flat parameter of length " + param.length()
                        + " and has no shape to read it as: select it with a RegularizationPolicy rule (which binds"
                        + " it to each parameter) or use boundTo(shape, order)");
            }
            checkShape(param.shape(), mode);
            return param.shape();
        }
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        boolean flat = param.rank() == 1 || param.isVector() && !Arrays.equals(param.shape(), shape);
        if (param.length() != n || !flat && !Arrays.equals(param.shape(), shape)) {
            throw new IllegalArgumentException("OrthogonalPenalty is bound to shape " + Arrays.toString(shape)
                    + " but gets a parameter of shape " + Arrays.toString(param.shape()));
        }
        return shape;
    }

    private char paramOrderFor(INDArray param) {
        return param.rank() >= 2 && !param.isVector() ? param.ordering() : paramOrder;
    }

    /** The parameter as the matrix {@code [rows, cols]} (a copy when it was a flat view or a kernel). */
    private INDArray matrix(INDArray param, long[] s) {
        INDArray shaped = Arrays.equals(param.shape(), s) ? param : param.reshape(paramOrderFor(param), s);
        return s.length == 2 ? shaped : shaped.reshape('c', matrixShape(s));
    }

    /** The vectors to orthogonalize as rows. */
    private INDArray oriented(INDArray m) {
        return mode == Mode.ROWS ? m : m.transpose();
    }

    /** d penalty / d matrix, in the matrix's shape. */
    private INDArray gradientOfMatrix(INDArray m, double f) {
        Normalized u = normalized(oriented(m));
        double c = f * 0.5 / u.numPairs();
        // d/dU Σ_{i≠j} |u_i·u_j| = 2 S U, with S = sign(P) off the diagonal and 0 on it (P is symmetric)
        INDArray dU = u.signs().mmul(u.u()).muli(2 * c);
        // through the normalization: dx_i = (du_i − u_i (u_i·du_i)) / ‖x_i‖, or du_i / ε where the norm was clamped
        INDArray along = u.u().mul(dU).sum(1).muli(u.unclamped()).reshape(u.n(), 1);
        INDArray dX = dU.subi(u.u().mulColumnVector(along)).muliColumnVector(u.invNorm().reshape(u.n(), 1));
        return mode == Mode.ROWS ? dX : dX.transpose();
    }

    /** Rows normalized as Keras does, with what the gradient needs. */
    private static Normalized normalized(INDArray rows) {
        INDArray x = rows.dup('c');
        INDArray sq = x.mul(x).sum(1);
        int n = (int) x.size(0);
        INDArray invNorm = sq.ulike();
        INDArray unclamped = sq.ulike();
        for (int i = 0; i < n; i++) {
            double inv = 1.0 / Math.sqrt(sq.getDouble(i));
            boolean clamped = !(inv < 1.0 / EPSILON);
            invNorm.putScalar(i, clamped ? 1.0 / EPSILON : inv);
            unclamped.putScalar(i, clamped ? 0.0 : 1.0);
        }
        INDArray u = x.muliColumnVector(invNorm.reshape(n, 1));
        return new Normalized(u, invNorm, unclamped, u.mmul(u.transpose()));
    }

    /** Rows {@code u} normalized as Keras does, their Gram matrix, and what the gradient needs. */
    private record Normalized(INDArray u, INDArray invNorm, INDArray unclamped, INDArray gram) {
        long n() {
            return u.size(0);
        }

        double numPairs() {
            double n = n();
            return n * (n - 1.0) / 2.0;
        }

        /** sign(P) with a zero diagonal. */
        INDArray signs() {
            INDArray s = Transforms.sign(gram, true);
            for (long i = 0; i < n(); i++) {
                s.putScalar(i, i, 0.0);
            }
            return s;
        }

        double offDiagonalAbsSum() {
            return signs().mul(gram).sumNumber().doubleValue();
        }
    }

    // ------------------------------------------------------------------------------------------ value

    @Override
    public OrthogonalPenalty clone() {
        return new OrthogonalPenalty(factor.clone(), mode, shape, paramOrder);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof OrthogonalPenalty)) {
            return false;
        }
        OrthogonalPenalty p = (OrthogonalPenalty) o;
        return factor.equals(p.factor) && mode == p.mode && Arrays.equals(shape, p.shape) && paramOrder == p.paramOrder;
    }

    @Override
    public int hashCode() {
        return Objects.hash(OrthogonalPenalty.class, factor, mode, Arrays.hashCode(shape), paramOrder);
    }

    @Override
    public String toString() {
        return "OrthogonalPenalty(factor=" + Coefficient.format(factor) + ", mode=" + mode + ")";
    }
}
