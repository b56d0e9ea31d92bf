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
 * <p><b>Stored and implicit features.</b> Coefficients derived from statistics that store only some features
 * ({@link #ofStored}) store those features' coefficients and one rule for the rest: an implicit feature has mean 0,
 * variance 0, gamma 1 and beta 0, so {@code scale = 1 / sqrt(epsilon)} (1 with scaling off, 0 when epsilon is 0) and
 * its map sends 0 to 0. A sparse row therefore maps to a sparse row at any dimension ({@link #mapSparse}): its
 * non-zeros, plus, when centering, the stored features whose map of 0 is not 0 (a non-zero mean or beta).
 *
 * <p>Immutable. Serializable because Spark broadcasts it to executors.
 */
public final class AffineCoefficients implements Serializable {
    private static final long serialVersionUID = 3L;

    private final int numFeatures;
    /** The features the per-feature arrays describe, increasing; null when they describe every feature. */
    private final int[] storedFeatures;
    /** The scale of every implicit feature (whose mean and beta are 0); unused when every feature is stored. */
    private final double implicitScale;
    /** Null when centering is off: then every entry would be 0, and 2^24 of them are 128 MB broadcast for nothing. */
    private final double[] mean;
    private final double[] scale;
    /** Null when centering is off, as {@link #mean}. */
    private final double[] beta;
    private final boolean centering;
    /**
     * What the features a sparse row leaves out (zeros) map to, forward and back: the same bits as the map of 0.0.
     * Derived where first needed rather than broadcast with the rest; only when every feature is stored.
     */
    private transient volatile double[] zeroForward;
    private transient volatile double[] zeroInverse;
    /**
     * With only some features stored: the stored features whose map of 0 is not +0.0, forward and back, and what 0 maps
     * to there. Derived where first needed, as the arrays above.
     */
    private transient volatile ZeroMap storedZeroForward;
    private transient volatile ZeroMap storedZeroInverse;
    /**
     * With only some features stored: an open-addressing table from feature to slot, at most half full, so that a
     * non-zero finds its coefficients in one or two probes rather than a binary search's twenty-odd, most of them cache
     * misses among millions of stored features. Built where first needed (on each executor), not broadcast.
     */
    private transient volatile FeatureSlots slotTable;

    private AffineCoefficients(int numFeatures, int[] storedFeatures, double implicitScale, double[] mean,
            double[] scale, double[] beta, boolean centering) {
        this.numFeatures = numFeatures;
        this.storedFeatures = storedFeatures;
        this.implicitScale = implicitScale;
        this.mean = mean;
        this.scale = scale;
        this.beta = beta;
        this.centering = centering;
    }

    /** Stored features whose zero maps to something other than +0.0, with that value. */
    private static final class ZeroMap {
        final int[] features;
        final double[] values;

        ZeroMap(int[] features, double[] values) {
            this.features = features;
            this.values = values;
        }
    }

    private double[] zeroForward() {
        double[] zeros = zeroForward;
        if (zeros == null) {
            zeros = new double[scale.length];
            for (int j = 0; j < zeros.length; j++) {
                zeros[j] = forwardZero(j);
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
                zeros[j] = inverseZero(j);
            }
            zeroInverse = zeros;
        }
        return zeros;
    }

    /** The forward map of 0.0 for slot {@code s}. */
    private double forwardZero(int s) {
        return centering ? (0.0 - mean[s]) * scale[s] + beta[s] : 0.0 * scale[s];
    }

    /** The inverse map of 0.0 for slot {@code s}. */
    private double inverseZero(int s) {
        return centering ? (0.0 - beta[s]) / scale[s] + mean[s] : 0.0 / scale[s];
    }

    private ZeroMap storedZeros(boolean inverse) {
        ZeroMap zeros = inverse ? storedZeroInverse : storedZeroForward;
        if (zeros == null) {
            int[] features = new int[scale.length];
            double[] values = new double[scale.length];
            int n = 0;
            for (int s = 0; s < scale.length; s++) {
                double zero = inverse ? inverseZero(s) : forwardZero(s);
                if (Double.doubleToRawLongBits(zero) != 0L) {
                    features[n] = storedFeatures == null ? s : storedFeatures[s];
                    values[n++] = zero;
                }
            }
            zeros = new ZeroMap(Arrays.copyOf(features, n), Arrays.copyOf(values, n));
            if (inverse) {
                storedZeroInverse = zeros;
            } else {
                storedZeroForward = zeros;
            }
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
        return new AffineCoefficients(n, null, 1.0, subtracted, scale, added, centering);
    }

    /**
     * Coefficients of statistics that store only {@code storedFeatures} (see {@link FeatureStatistics}), with gamma 1
     * and beta 0 for every feature: the stored features' coefficients as {@link #of} derives them, and for every other
     * feature (mean 0, variance 0) the scale {@code 1 / sqrt(epsilon)}, so that its map sends 0 to 0.
     *
     * @param numFeatures the dimension
     * @param storedFeatures the stored features, strictly increasing in {@code [0, numFeatures)}
     * @param mean per stored feature
     * @param variance per stored feature, {@code >= 0}
     */
    public static AffineCoefficients ofStored(int numFeatures, int[] storedFeatures, double[] mean, double[] variance,
            double epsilon, boolean centering, boolean scaling) {
        if (storedFeatures.length != mean.length) {
            throw new IllegalArgumentException("storedFeatures has " + storedFeatures.length + " values but mean has "
                    + mean.length);
        }
        for (int s = 0; s < storedFeatures.length; s++) {
            if (storedFeatures[s] < 0 || storedFeatures[s] >= numFeatures
                    || (s > 0 && storedFeatures[s] <= storedFeatures[s - 1])) {
                throw new IllegalArgumentException("storedFeatures must be increasing feature indices in [0, "
                        + numFeatures + "), but entry " + s + " is " + storedFeatures[s]);
            }
        }
        AffineCoefficients stored = of(mean, variance, new double[0], new double[0], epsilon, centering, scaling);
        double implicitScale = scaling ? scale(1.0, 0.0, epsilon) : 1.0;
        return new AffineCoefficients(numFeatures, storedFeatures.clone(), implicitScale, stored.mean, stored.scale,
                stored.beta, centering);
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
        return numFeatures;
    }

    /** Whether every feature's coefficients are stored, so that there are no implicit features. */
    public boolean storesEveryFeature() {
        return storedFeatures == null;
    }

    /** The slot of {@code feature}'s coefficients, or a negative number for an implicit feature. */
    private int slotOf(int feature) {
        if (storedFeatures == null) {
            return feature;
        }
        // Built once and only read after: the volatile write publishes it whole to the other task threads.
        FeatureSlots table = slotTable;
        if (table == null) {
            table = FeatureSlots.of(storedFeatures);
            slotTable = table;
        }
        return table.slotOf(feature);
    }

    /** The scale of {@code feature}. */
    private double scaleOf(int feature) {
        int s = slotOf(feature);
        return s >= 0 ? scale[s] : implicitScale;
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
        return centering ? expand(mean, 0.0, "the means") : expand(null, 0.0, "the means");
    }

    /** {@code scale = gamma / sqrt(variance + epsilon)} (1 with scaling off, 0 when the root is 0): a fresh copy. */
    public double[] scale() {
        return expand(scale, implicitScale, "the scales");
    }

    /** What is added after scaling: beta; 0 when centering is off. A fresh copy. */
    public double[] beta() {
        return centering ? expand(beta, 0.0, "the betas") : expand(null, 0.0, "the betas");
    }

    /** A fresh array of every feature: {@code stored} (null: all zero) spread out, implicit features given {@code implicit}. */
    private double[] expand(double[] stored, double implicit, String what) {
        if (storedFeatures == null) {
            return stored == null ? new double[numFeatures] : stored.clone();
        }
        DenseArrays.require(numFeatures, Double.BYTES, what);
        double[] all = new double[numFeatures];
        if (implicit != 0.0) {
            Arrays.fill(all, implicit);
        }
        if (stored != null) {
            for (int s = 0; s < stored.length; s++) {
                all[storedFeatures[s]] = stored[s];
            }
        }
        return all;
    }

    /** Applies the map to a dense row, writing into {@code out} (may be {@code values} itself). */
    public void applyDense(double[] values, double[] out) {
        if (storedFeatures != null) {
            mapDenseStored(values, out, false);
            return;
        }
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

    /** The map, forward or back, of a dense row when only some features are stored. */
    private void mapDenseStored(double[] values, double[] out, boolean inverse) {
        int s = 0;
        for (int j = 0; j < numFeatures; j++) {
            if (s < storedFeatures.length && storedFeatures[s] == j) {
                out[j] = mapSlot(s, values[j], inverse);
                s++;
            } else {
                out[j] = mapImplicit(values[j], inverse);
            }
        }
    }

    /** The map of {@code x} by slot {@code s}'s coefficients: the same operations, in the same order, as the loops. */
    private double mapSlot(int s, double x, boolean inverse) {
        if (!centering) {
            return inverse ? x / scale[s] : x * scale[s];
        }
        return inverse ? (x - beta[s]) / scale[s] + mean[s] : (x - mean[s]) * scale[s] + beta[s];
    }

    /**
     * The map of {@code x} by an implicit feature's coefficients (mean 0, beta 0): the operations of {@link #mapSlot}
     * with those zeros, so the bits equal what coefficients storing every feature give.
     */
    private double mapImplicit(double x, boolean inverse) {
        if (!centering) {
            return inverse ? x / implicitScale : x * implicitScale;
        }
        return inverse ? (x - 0.0) / implicitScale + 0.0 : (x - 0.0) * implicitScale + 0.0;
    }

    /** The map of feature {@code j}'s value {@code x}. */
    private double mapFeature(int j, double x, boolean inverse) {
        int s = slotOf(j);
        return s >= 0 ? mapSlot(s, x, inverse) : mapImplicit(x, inverse);
    }

    /**
     * Applies the map to a sparse row, writing a dense result into {@code out}: features the row leaves out are zero,
     * and map to what 0.0 maps to.
     */
    public void applySparseToDense(int[] indices, double[] values, double[] out) {
        if (storedFeatures != null) {
            mapSparseToDenseStored(indices, values, out, false);
            return;
        }
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

    private void mapSparseToDenseStored(int[] indices, double[] values, double[] out, boolean inverse) {
        Arrays.fill(out, 0, numFeatures, mapImplicit(0.0, inverse));
        ZeroMap zeros = storedZeros(inverse);
        for (int z = 0; z < zeros.features.length; z++) {
            out[zeros.features[z]] = zeros.values[z];
        }
        for (int k = 0; k < indices.length; k++) {
            out[indices[k]] = mapFeature(indices[k], values[k], inverse);
        }
    }

    /**
     * Scales only the stored values of a sparse row, for when centering is off: the result keeps the row's sparsity.
     * Writes into {@code out}, which may be {@code values} itself.
     */
    public void applySparseScaleOnly(int[] indices, double[] values, double[] out) {
        if (storedFeatures != null) {
            for (int k = 0; k < indices.length; k++) {
                out[k] = values[k] * scaleOf(indices[k]);
            }
            return;
        }
        final double[] a = scale;
        for (int k = 0; k < indices.length; k++) {
            out[k] = values[k] * a[indices[k]];
        }
    }

    /** A sparse row: increasing feature indices and their values. */
    public record SparseRow(int[] indices, double[] values) {
    }

    /**
     * Applies the map (or its inverse) to a sparse row and keeps the result sparse: the row's entries mapped, plus every
     * feature the row leaves out whose map of 0 is not +0.0. Without centering that is none; with centering it is the
     * stored features with a non-zero mean or beta (an implicit feature maps 0 to 0 both ways). The cost is the row's
     * entries (each found among the stored features through a hash table) plus those features; the bits are those of
     * {@link #applySparseToDense} (or {@link #invertSparseToDense}) at every entry.
     *
     * @param indices the row's increasing feature indices
     * @param values the row's values
     * @param inverse whether to invert the map, {@code x = (y - beta) / scale + mean}
     */
    public SparseRow mapSparse(int[] indices, double[] values, boolean inverse) {
        if (!centering) {
            double[] out = new double[values.length];
            if (inverse) {
                invertSparseScaleOnly(indices, values, out);
            } else {
                applySparseScaleOnly(indices, values, out);
            }
            return new SparseRow(indices, out);
        }
        ZeroMap zeros = storedZeros(inverse);
        int[] zeroFeatures = zeros.features;
        int[] outIndices = new int[indices.length + zeroFeatures.length];
        double[] outValues = new double[outIndices.length];
        int k = 0;
        int z = 0;
        int n = 0;
        while (k < indices.length || z < zeroFeatures.length) {
            if (z == zeroFeatures.length || (k < indices.length && indices[k] <= zeroFeatures[z])) {
                int j = indices[k];
                if (z < zeroFeatures.length && zeroFeatures[z] == j) {
                    z++;
                }
                outIndices[n] = j;
                outValues[n++] = mapFeature(j, values[k++], inverse);
            } else {
                outIndices[n] = zeroFeatures[z];
                outValues[n++] = zeros.values[z++];
            }
        }
        return n == outIndices.length ? new SparseRow(outIndices, outValues)
                : new SparseRow(Arrays.copyOf(outIndices, n), Arrays.copyOf(outValues, n));
    }

    /**
     * The features whose {@code scale} is 0: their forward map sent every value to {@code beta}, so they cannot be
     * inverted. In increasing order; empty when every feature can.
     */
    public int[] zeroScaleFeatures() {
        return zeroScaleFeatures(Integer.MAX_VALUE);
    }

    /** The first {@code limit} features (at most) of {@link #zeroScaleFeatures()}. */
    public int[] zeroScaleFeatures(int limit) {
        int[] found = new int[16];
        int n = 0;
        boolean implicitZero = storedFeatures != null && implicitScale == 0.0;
        int s = 0;
        int end = implicitZero ? numFeatures : scale.length;
        for (int i = 0; i < end && n < limit; i++) {
            boolean zero;
            int feature;
            if (implicitZero) {
                feature = i;
                boolean stored = s < storedFeatures.length && storedFeatures[s] == i;
                zero = stored ? scale[s++] == 0.0 : true;
            } else {
                feature = storedFeatures == null ? i : storedFeatures[i];
                zero = scale[i] == 0.0;
            }
            if (zero) {
                if (n == found.length) {
                    found = Arrays.copyOf(found, 2 * n);
                }
                found[n++] = feature;
            }
        }
        return Arrays.copyOf(found, n);
    }

    /** How many features {@link #zeroScaleFeatures()} has, counted without listing them. */
    public long zeroScaleFeatureCount() {
        long zero = 0;
        for (double a : scale) {
            if (a == 0.0) {
                zero++;
            }
        }
        if (storedFeatures != null && implicitScale == 0.0) {
            zero += numFeatures - storedFeatures.length;
        }
        return zero;
    }

    /**
     * Inverts the map on a dense row, {@code x = (y - beta) / scale + mean}, writing into {@code out} (may be
     * {@code values} itself). Every scale must be non-zero (see {@link #zeroScaleFeatures()}).
     */
    public void invertDense(double[] values, double[] out) {
        if (storedFeatures != null) {
            mapDenseStored(values, out, true);
            return;
        }
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
        if (storedFeatures != null) {
            mapSparseToDenseStored(indices, values, out, true);
            return;
        }
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
        if (storedFeatures != null) {
            for (int k = 0; k < indices.length; k++) {
                out[k] = values[k] / scaleOf(indices[k]);
            }
            return;
        }
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
        return centering == other.centering && numFeatures == other.numFeatures
                && Arrays.equals(storedFeatures, other.storedFeatures)
                && Double.compare(implicitScale, other.implicitScale) == 0 && Arrays.equals(mean, other.mean)
                && Arrays.equals(scale, other.scale) && Arrays.equals(beta, other.beta);
    }

    @Override
    public int hashCode() {
        return Boolean.hashCode(centering) + 31 * (Arrays.hashCode(mean) + 31 * (Arrays.hashCode(scale)
                + 31 * (Arrays.hashCode(beta) + 31 * Arrays.hashCode(storedFeatures))));
    }

    @Override
    public String toString() {
        return "AffineCoefficients(" + (storedFeatures == null ? "" : "numFeatures=" + numFeatures + ", stored "
                        + VectorText.abbreviate(storedFeatures) + ", implicit scale " + implicitScale + ", ")
                + (centering ? "mean=" + VectorText.abbreviate(mean) + ", " : "")
                + "scale=" + VectorText.abbreviate(scale)
                + (centering ? ", beta=" + VectorText.abbreviate(beta) : "") + ")";
    }
}
