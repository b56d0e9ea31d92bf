package io.github.batchnorm.stats;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The per-feature map that batch normalisation reduces to once its statistics are known:
 * {@code y = (x - mean[j]) * scale[j] + beta[j]} with {@code scale = gamma / sqrt(var + epsilon)}, and its inverse
 * {@code x = (y - beta[j]) / scale[j] + mean[j]}. Computing the scale once per model leaves one subtraction, one
 * multiplication and one addition per value.
 *
 * <p>The mean is subtracted first, as Spark's StandardScaler and scikit-learn do, because that keeps the map as exact as
 * the statistics: {@code x - mean} is exact when x is within a factor of two of the mean (Sterbenz), so the only
 * roundings left are of numbers the size of the output. Folding the mean into one shift, {@code scale * x + (beta -
 * scale * mean)} (as PyTorch's CPU kernel does), would round terms the size of {@code scale * x}: about 1e-7 off on
 * {@code 1e9 + N(0, 1)}.
 *
 * <p>The loops use no fused multiply-add: Spark SQL cannot fuse, and the scalar and array columns, mapped by SQL
 * expressions, must give the same bits as Vectors. With beta 0 (z-scores) it would change nothing anyway, since
 * {@code fma(t, a, 0)} is the rounded {@code t * a}.
 *
 * <p>Immutable. Serializable because Spark broadcasts it to executors.
 */
public final class AffineCoefficients implements Serializable {
    private static final long serialVersionUID = 2L;

    /** Null when centering is off: then every entry would be 0, and 2^24 of them are 128 MB broadcast for nothing. */
    private final double[] mean;
    private final double[] scale;
    /** Null when centering is off, as {@link #mean}. */
    private final double[] beta;
    private final boolean centering;
    /**
     * What the features a sparse row leaves out (zeros) map to, forward and back: the same bits as the map of 0.0.
     * Derived where first needed rather than broadcast with the rest.
     */
    private transient volatile double[] zeroForward;
    private transient volatile double[] zeroInverse;

    private AffineCoefficients(double[] mean, double[] scale, double[] beta, boolean centering) {
        this.mean = mean;
        this.scale = scale;
        this.beta = beta;
        this.centering = centering;
    }

    private double[] zeroForward() {
        double[] zeros = zeroForward;
        if (zeros == null) {
            zeros = new double[scale.length];
            for (int j = 0; j < zeros.length; j++) {
                zeros[j] = centering ? (0.0 - mean[j]) * scale[j] + beta[j] : 0.0 * scale[j];
            }
            zeroForward = zeros;
        }
        return zeros;
    }

    private double[] zeroInverse() {
        double[] zeros = zeroInverse;
        if (zeros == null) {
            zeros = new double[scale.length];
            for (int j = 0; j < zeros.length; j++) {
                zeros[j] = centering ? (0.0 - beta[j]) / scale[j] + mean[j] : 0.0 / scale[j];
            }
            zeroInverse = zeros;
        }
        return zeros;
    }

    /**
     * Derives the coefficients.
     *
     * <p>With {@code scaling} off, {@code scale = 1} (neither the variance nor gamma is used); with {@code centering} off,
     * the map is {@code y = x * scale} (neither the mean nor beta is used). Keras' {@code center}/{@code scale} and
     * PyTorch's {@code affine} switches drop only beta or gamma, so exporting a model with either switch off takes care
     * (README). A feature whose {@code variance + epsilon} is zero (a constant feature with {@code epsilon = 0}) gets
     * {@code scale = 0}, so its output is exactly {@code beta}: never NaN or infinite.
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
        double[] subtracted = centering ? new double[n] : null;
        double[] scale = new double[n];
        double[] added = centering ? new double[n] : null;
        for (int j = 0; j < n; j++) {
            double a = 1.0;
            if (scaling) {
                a = scale(gamma.length == 0 ? 1.0 : gamma[j], variance[j], epsilon);
            }
            scale[j] = a;
            if (centering) {
                // A zero scale sends every x to beta; subtracting nothing keeps a huge x from making
                // (x - mean) * 0 NaN.
                subtracted[j] = a == 0.0 ? 0.0 : mean[j];
                added[j] = beta.length == 0 ? 0.0 : beta[j];
            }
        }
        return new AffineCoefficients(subtracted, scale, added, centering);
    }

    /**
     * {@code gamma / sqrt(variance + epsilon)} rounded once (to within a hair of half an ulp) rather than three times:
     * the sum, the root and the quotient are each corrected by their exact remainders. Every output carries this
     * number's relative error, so it is worth the few extra operations once per feature; 0 when the root is 0.
     */
    static double scale(double gamma, double variance, double epsilon) {
        double sum = variance + epsilon;
        double root = Math.sqrt(sum);
        if (root == 0.0 || !Double.isFinite(root)) {
            return root == 0.0 ? 0.0 : gamma / root;
        }
        // variance + epsilon = sum + sumError exactly (Knuth's two-sum).
        double epsilonPart = sum - variance;
        double sumError = (variance - (sum - epsilonPart)) + (epsilon - epsilonPart);
        // sqrt(sum + sumError) = root + rootError to first order; the fused multiply-add gives sum - root^2 exactly.
        double rootError = (Math.fma(-root, root, sum) + sumError) / (2.0 * root);
        double quotient = gamma / root;
        // gamma / (root + rootError) = quotient + (gamma - quotient * root - quotient * rootError) / root,
        // to first order.
        return quotient + (Math.fma(-quotient, root, gamma) - quotient * rootError) / root;
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

    /**
     * Whether the map centres ({@code (x - mean) * scale + beta}); when false it is {@code x * scale}, and
     * {@link #mean()} and {@link #beta()} are all 0.
     */
    public boolean centering() {
        return centering;
    }

    /**
     * What is subtracted from each feature: its mean; 0 when centering is off, and 0 for a feature whose scale is 0 (its
     * output is beta whatever is subtracted). A fresh copy.
     */
    public double[] mean() {
        return centering ? mean.clone() : new double[scale.length];
    }

    /** {@code scale = gamma / sqrt(variance + epsilon)} (1 with scaling off, 0 when the root is 0): a fresh copy. */
    public double[] scale() {
        return scale.clone();
    }

    /** What is added after scaling: beta; 0 when centering is off. A fresh copy. */
    public double[] beta() {
        return centering ? beta.clone() : new double[scale.length];
    }

    /** Applies the map to a dense row, writing into {@code out} (may be {@code values} itself). */
    public void applyDense(double[] values, double[] out) {
        final double[] m = mean;
        final double[] a = scale;
        final double[] b = beta;
        if (!centering) {
            for (int j = 0; j < a.length; j++) {
                out[j] = values[j] * a[j];
            }
            return;
        }
        for (int j = 0; j < a.length; j++) {
            out[j] = (values[j] - m[j]) * a[j] + b[j];
        }
    }

    /**
     * Applies the map to a sparse row, writing a dense result into {@code out}: features the row leaves out are zero,
     * and map to what 0.0 maps to.
     */
    public void applySparseToDense(int[] indices, double[] values, double[] out) {
        double[] zeros = zeroForward();
        System.arraycopy(zeros, 0, out, 0, zeros.length);
        final double[] m = mean;
        final double[] a = scale;
        final double[] b = beta;
        if (!centering) {
            for (int k = 0; k < indices.length; k++) {
                int j = indices[k];
                out[j] = values[k] * a[j];
            }
            return;
        }
        for (int k = 0; k < indices.length; k++) {
            int j = indices[k];
            out[j] = (values[k] - m[j]) * a[j] + b[j];
        }
    }

    /**
     * Scales only the stored values of a sparse row, for when centering is off: the result keeps the row's sparsity.
     * Writes into {@code out}, which may be {@code values} itself.
     */
    public void applySparseScaleOnly(int[] indices, double[] values, double[] out) {
        final double[] a = scale;
        for (int k = 0; k < indices.length; k++) {
            out[k] = values[k] * a[indices[k]];
        }
    }

    /**
     * The features whose {@code scale} is 0: their forward map sent every value to {@code beta}, so they cannot be
     * inverted. In increasing order; empty when every feature can.
     */
    public int[] zeroScaleFeatures() {
        return java.util.stream.IntStream.range(0, scale.length).filter(j -> scale[j] == 0.0).toArray();
    }

    /**
     * Inverts the map on a dense row, {@code x = (y - beta) / scale + mean}, writing into {@code out} (may be
     * {@code values} itself). Every scale must be non-zero (see {@link #zeroScaleFeatures()}).
     */
    public void invertDense(double[] values, double[] out) {
        final double[] m = mean;
        final double[] a = scale;
        final double[] b = beta;
        if (!centering) {
            for (int j = 0; j < a.length; j++) {
                out[j] = values[j] / a[j];
            }
            return;
        }
        for (int j = 0; j < a.length; j++) {
            out[j] = (values[j] - b[j]) / a[j] + m[j];
        }
    }

    /** Inverts the map on a sparse row, writing a dense result: features the row leaves out are zero. */
    public void invertSparseToDense(int[] indices, double[] values, double[] out) {
        double[] zeros = zeroInverse();
        System.arraycopy(zeros, 0, out, 0, zeros.length);
        final double[] m = mean;
        final double[] a = scale;
        final double[] b = beta;
        if (!centering) {
            for (int k = 0; k < indices.length; k++) {
                int j = indices[k];
                out[j] = values[k] / a[j];
            }
            return;
        }
        for (int k = 0; k < indices.length; k++) {
            int j = indices[k];
            out[j] = (values[k] - b[j]) / a[j] + m[j];
        }
    }

    /**
     * Inverts only the stored values of a sparse row, for when centering is off: the result keeps the row's sparsity.
     */
    public void invertSparseScaleOnly(int[] indices, double[] values, double[] out) {
        final double[] a = scale;
        for (int k = 0; k < indices.length; k++) {
            out[k] = values[k] / a[indices[k]];
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof AffineCoefficients)) {
            return false;
        }
        AffineCoefficients other = (AffineCoefficients) o;
        return centering == other.centering && Arrays.equals(mean, other.mean) && Arrays.equals(scale, other.scale)
                && Arrays.equals(beta, other.beta);
    }

    @Override
    public int hashCode() {
        return Boolean.hashCode(centering) + 31 * (Arrays.hashCode(mean) + 31 * (Arrays.hashCode(scale)
                + 31 * Arrays.hashCode(beta)));
    }

    @Override
    public String toString() {
        return "AffineCoefficients(" + (centering ? "mean=" + VectorText.abbreviate(mean) + ", " : "")
                + "scale=" + VectorText.abbreviate(scale)
                + (centering ? ", beta=" + VectorText.abbreviate(beta) : "") + ")";
    }
}
