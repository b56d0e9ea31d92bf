package io.github.batchnorm.stats;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The per-feature affine map {@code y = scale[j] * x + shift[j]} that batch normalisation reduces to once its statistics are
 * known: {@code scale = gamma / sqrt(var + epsilon)} and {@code shift = beta - scale * mean}. Computing it once per model
 * leaves one multiply-add per value for the transform.
 *
 * <p>Immutable. Serializable because Spark broadcasts it to executors.
 */
public final class AffineCoefficients implements Serializable {
    private static final long serialVersionUID = 1L;

    private final double[] scale;
    private final double[] shift;

    private AffineCoefficients(double[] scale, double[] shift) {
        this.scale = scale;
        this.shift = shift;
    }

    /**
     * Derives the coefficients.
     *
     * <p>With {@code scaling} off, {@code scale = 1} (neither the variance nor gamma is used); with {@code centering} off,
     * {@code shift = 0} (neither the mean nor beta is used). Keras' {@code center}/{@code scale} and PyTorch's
     * {@code affine} switches drop only beta or gamma, so exporting a model with either switch off takes care (README).
     * A feature whose {@code variance + epsilon} is zero (a constant feature with {@code epsilon = 0}) gets {@code scale = 0},
     * so its output is exactly {@code beta}: never NaN or infinite.
     *
     * @param mean per-feature mean
     * @param variance per-feature variance, {@code >= 0}
     * @param gamma per-feature scale, or an empty array for 1.0 everywhere
     * @param beta per-feature offset, or an empty array for 0.0 everywhere
     * @param epsilon added to the variance, {@code >= 0}
     */
    public static AffineCoefficients of(double[] mean, double[] variance, double[] gamma, double[] beta, double epsilon,
            boolean centering, boolean scaling) {
        int n = mean.length;
        requireLength("variance", variance, n, false);
        requireLength("gamma", gamma, n, true);
        requireLength("beta", beta, n, true);
        if (!(epsilon >= 0.0) || Double.isInfinite(epsilon)) {
            throw new IllegalArgumentException("epsilon must be finite and >= 0 but was " + epsilon);
        }
        double[] scale = new double[n];
        double[] shift = new double[n];
        for (int j = 0; j < n; j++) {
            double a = 1.0;
            if (scaling) {
                double g = gamma.length == 0 ? 1.0 : gamma[j];
                double spread = Math.sqrt(variance[j] + epsilon);
                a = spread == 0.0 ? 0.0 : g / spread;
            }
            scale[j] = a;
            if (centering) {
                double b = beta.length == 0 ? 0.0 : beta[j];
                shift[j] = b - a * mean[j];
            }
        }
        return new AffineCoefficients(scale, shift);
    }

    private static void requireLength(String name, double[] values, int expected, boolean emptyAllowed) {
        if (values.length != expected && !(emptyAllowed && values.length == 0)) {
            throw new IllegalArgumentException(name + " has " + values.length + " values but there are " + expected
                    + " features");
        }
    }

    /** Number of features. */
    public int numFeatures() {
        return scale.length;
    }

    /** {@code a}: a fresh copy. */
    public double[] scale() {
        return scale.clone();
    }

    /** {@code b}: a fresh copy. */
    public double[] shift() {
        return shift.clone();
    }

    /** Applies the map to a dense row, writing into {@code out} (may be {@code values} itself). */
    public void applyDense(double[] values, double[] out) {
        final double[] a = scale;
        final double[] b = shift;
        for (int j = 0; j < a.length; j++) {
            out[j] = a[j] * values[j] + b[j];
        }
    }

    /**
     * Applies the map to a sparse row, writing a dense result into {@code out}: features the row leaves out are zero, so
     * their output is {@code shift[j]}.
     */
    public void applySparseToDense(int[] indices, double[] values, double[] out) {
        System.arraycopy(shift, 0, out, 0, shift.length);
        final double[] a = scale;
        for (int k = 0; k < indices.length; k++) {
            int j = indices[k];
            out[j] += a[j] * values[k];
        }
    }

    /**
     * Scales only the stored values of a sparse row, for when no shift applies (centering off): the result keeps the
     * row's sparsity. Writes into {@code out}, which may be {@code values} itself.
     */
    public void applySparseScaleOnly(int[] indices, double[] values, double[] out) {
        final double[] a = scale;
        for (int k = 0; k < indices.length; k++) {
            out[k] = a[indices[k]] * values[k];
        }
    }

    /**
     * The features whose {@code scale} is 0: their forward map sent every value to {@code shift}, so they cannot be
     * inverted. In increasing order; empty when every feature can.
     */
    public int[] zeroScaleFeatures() {
        return java.util.stream.IntStream.range(0, scale.length).filter(j -> scale[j] == 0.0).toArray();
    }

    /**
     * Inverts the map on a dense row, {@code x = (y - shift) / scale}, writing into {@code out} (may be {@code values}
     * itself). Every scale must be non-zero (see {@link #zeroScaleFeatures()}).
     */
    public void invertDense(double[] values, double[] out) {
        final double[] a = scale;
        final double[] b = shift;
        for (int j = 0; j < a.length; j++) {
            out[j] = (values[j] - b[j]) / a[j];
        }
    }

    /** Inverts the map on a sparse row, writing a dense result: features the row leaves out are zero. */
    public void invertSparseToDense(int[] indices, double[] values, double[] out) {
        final double[] a = scale;
        final double[] b = shift;
        for (int j = 0; j < a.length; j++) {
            out[j] = (0.0 - b[j]) / a[j];
        }
        for (int k = 0; k < indices.length; k++) {
            int j = indices[k];
            out[j] = (values[k] - b[j]) / a[j];
        }
    }

    /** Inverts only the stored values of a sparse row, for when no shift applies: the result keeps the row's sparsity. */
    public void invertSparseScaleOnly(int[] indices, double[] values, double[] out) {
        final double[] a = scale;
        for (int k = 0; k < indices.length; k++) {
            out[k] = values[k] / a[indices[k]];
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AffineCoefficients
                && Arrays.equals(scale, ((AffineCoefficients) o).scale)
                && Arrays.equals(shift, ((AffineCoefficients) o).shift);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(scale) + Arrays.hashCode(shift);
    }

    @Override
    public String toString() {
        return "AffineCoefficients(scale=" + VectorText.abbreviate(scale) + ", shift=" + VectorText.abbreviate(shift) + ")";
    }
}
