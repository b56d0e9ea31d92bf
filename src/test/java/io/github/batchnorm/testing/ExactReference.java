package io.github.batchnorm.testing;

import java.math.BigDecimal;
import java.math.MathContext;

/**
 * An independent reference: two-pass mean and variance and the batch-norm formula in BigDecimal arithmetic, rounded to
 * double only at the end. Sums are exact; the second pass takes deviations from the exact mean {@code S1/W} scaled by
 * {@code W}, {@code M2 = sum w (W x - S1)^2 / W^2}: the deviations {@code W x - S1} are exact, their weighted squares
 * (all {@code >= 0}) are summed to 60 digits, and the variance and the mean are each one division to 50 digits, so both
 * are far more precise than a double and a constant feature's variance is exactly zero. Shares no code with the library.
 */
public final class ExactReference {
    private static final MathContext CONTEXT = new MathContext(50);
    private static final MathContext TERMS = new MathContext(60);

    private final BigDecimal[] mean;
    /** {@code sum w (W x - S1)^2}: {@code M2} times {@code W^2}, exact. */
    private final BigDecimal[] scaledM2;
    /** Per feature, since a missing value takes its row's weight out of its own feature only. */
    private final BigDecimal[] weightSum;
    private final BigDecimal[] weightSquareSum;

    private ExactReference(BigDecimal[] mean, BigDecimal[] scaledM2, BigDecimal[] weightSum,
            BigDecimal[] weightSquareSum) {
        this.mean = mean;
        this.scaledM2 = scaledM2;
        this.weightSum = weightSum;
        this.weightSquareSum = weightSquareSum;
    }

    /** Statistics of unweighted rows (each {@code rows[i]} is one row, dense). */
    public static ExactReference of(double[][] rows) {
        double[] weights = new double[rows.length];
        java.util.Arrays.fill(weights, 1.0);
        return weighted(rows, weights);
    }

    /** Statistics of weighted rows: weighted mean, and {@code M2 = sum w (x - mean)^2}. Every value must be finite. */
    public static ExactReference weighted(double[][] rows, double[] weights) {
        for (double[] row : rows) {
            for (double x : row) {
                if (!Double.isFinite(x)) {
                    throw new IllegalArgumentException("a non-finite value " + x + " where none may be missing");
                }
            }
        }
        return withMissing(rows, weights);
    }

    /**
     * Like {@link #weighted}, but a NaN or infinite value is missing: it and its row's weight are left out of its own
     * feature only. Every feature needs some value of positive weight.
     */
    public static ExactReference withMissing(double[][] rows, double[] weights) {
        int d = rows[0].length;
        BigDecimal[] w = zeros(d);
        BigDecimal[] w2 = zeros(d);
        BigDecimal[] sum = zeros(d);
        for (int i = 0; i < rows.length; i++) {
            BigDecimal wi = new BigDecimal(weights[i]);
            for (int j = 0; j < d; j++) {
                if (Double.isFinite(rows[i][j])) {
                    w[j] = w[j].add(wi);
                    w2[j] = w2[j].add(wi.multiply(wi));
                    sum[j] = sum[j].add(wi.multiply(new BigDecimal(rows[i][j])));
                }
            }
        }
        BigDecimal[] mean = new BigDecimal[d];
        for (int j = 0; j < d; j++) {
            mean[j] = sum[j].divide(w[j], CONTEXT);
        }
        BigDecimal[] scaledM2 = zeros(d);
        for (int i = 0; i < rows.length; i++) {
            BigDecimal wi = new BigDecimal(weights[i]);
            for (int j = 0; j < d; j++) {
                if (Double.isFinite(rows[i][j])) {
                    BigDecimal delta = w[j].multiply(new BigDecimal(rows[i][j])).subtract(sum[j]);
                    // Every term is >= 0, so rounding the terms and their sum to 60 digits keeps 59 of the result.
                    BigDecimal term = wi.multiply(delta.multiply(delta, TERMS), TERMS);
                    scaledM2[j] = scaledM2[j].add(term, TERMS);
                }
            }
        }
        return new ExactReference(mean, scaledM2, w, w2);
    }

    private static BigDecimal[] zeros(int length) {
        BigDecimal[] values = new BigDecimal[length];
        java.util.Arrays.fill(values, BigDecimal.ZERO);
        return values;
    }

    /** The total weight of the feature's values: the sum of the weights of the rows in which it is not missing. */
    public double weightSum(int feature) {
        return weightSum[feature].doubleValue();
    }

    /** The sum of the squared weights of the feature's values. */
    public double weightSquareSum(int feature) {
        return weightSquareSum[feature].doubleValue();
    }

    public double mean(int feature) {
        return mean[feature].doubleValue();
    }

    public double populationVariance(int feature) {
        return populationVarianceExact(feature).doubleValue();
    }

    public double sampleVariance(int feature) {
        return sampleVarianceExact(feature).doubleValue();
    }

    public double m2(int feature) {
        return scaledM2[feature].divide(weightSum[feature].pow(2), CONTEXT).doubleValue();
    }

    private BigDecimal populationVarianceExact(int feature) {
        return scaledM2[feature].divide(weightSum[feature].pow(3), CONTEXT);
    }

    /** {@code M2 / (W - sum(w^2) / W)}, as one division: {@code W^2 M2 / (W^3 - W sum(w^2))}. */
    private BigDecimal sampleVarianceExact(int feature) {
        BigDecimal w = weightSum[feature];
        return scaledM2[feature].divide(w.pow(3).subtract(w.multiply(weightSquareSum[feature])), CONTEXT);
    }

    /**
     * {@code gamma * (x - mean) / sqrt(var + epsilon) + beta} for one value, with the switches of the stage: no centring
     * drops the mean and beta, no scaling drops the variance and gamma; a zero denominator gives beta.
     */
    public double normalize(int feature, double x, boolean sample, double epsilon, double gamma, double beta,
            boolean center, boolean scale) {
        BigDecimal value = new BigDecimal(x);
        if (center) {
            value = value.subtract(mean[feature]);
        }
        if (scale) {
            BigDecimal variance = sample ? sampleVarianceExact(feature) : populationVarianceExact(feature);
            BigDecimal spread = variance.add(new BigDecimal(epsilon)).sqrt(CONTEXT);
            value = spread.signum() == 0 ? BigDecimal.ZERO
                    : value.multiply(new BigDecimal(gamma)).divide(spread, CONTEXT);
        }
        if (center) {
            value = value.add(new BigDecimal(beta));
        }
        return value.doubleValue();
    }
}
