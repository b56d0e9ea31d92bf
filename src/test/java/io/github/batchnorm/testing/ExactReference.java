package io.github.batchnorm.testing;

import java.math.BigDecimal;
import java.math.MathContext;

/**
 * An independent reference: two-pass mean and variance and the batch-norm formula in BigDecimal arithmetic with 50 digits,
 * rounded to double only at the end. Shares no code with the library.
 */
public final class ExactReference {
    private static final MathContext CONTEXT = new MathContext(50);

    private final BigDecimal[] mean;
    private final BigDecimal[] m2;
    private final BigDecimal weightSum;
    private final BigDecimal weightSquareSum;

    private ExactReference(BigDecimal[] mean, BigDecimal[] m2, BigDecimal weightSum, BigDecimal weightSquareSum) {
        this.mean = mean;
        this.m2 = m2;
        this.weightSum = weightSum;
        this.weightSquareSum = weightSquareSum;
    }

    /** Statistics of unweighted rows (each {@code rows[i]} is one row, dense). */
    public static ExactReference of(double[][] rows) {
        double[] weights = new double[rows.length];
        java.util.Arrays.fill(weights, 1.0);
        return weighted(rows, weights);
    }

    /** Statistics of weighted rows: weighted mean, and {@code M2 = sum w (x - mean)^2}. */
    public static ExactReference weighted(double[][] rows, double[] weights) {
        int d = rows[0].length;
        BigDecimal w = BigDecimal.ZERO;
        BigDecimal w2 = BigDecimal.ZERO;
        BigDecimal[] sum = new BigDecimal[d];
        java.util.Arrays.fill(sum, BigDecimal.ZERO);
        for (int i = 0; i < rows.length; i++) {
            BigDecimal wi = new BigDecimal(weights[i]);
            w = w.add(wi);
            w2 = w2.add(wi.multiply(wi));
            for (int j = 0; j < d; j++) {
                sum[j] = sum[j].add(wi.multiply(new BigDecimal(rows[i][j])));
            }
        }
        BigDecimal[] mean = new BigDecimal[d];
        BigDecimal[] m2 = new BigDecimal[d];
        for (int j = 0; j < d; j++) {
            mean[j] = sum[j].divide(w, CONTEXT);
            m2[j] = BigDecimal.ZERO;
        }
        for (int i = 0; i < rows.length; i++) {
            BigDecimal wi = new BigDecimal(weights[i]);
            for (int j = 0; j < d; j++) {
                BigDecimal delta = new BigDecimal(rows[i][j]).subtract(mean[j]);
                m2[j] = m2[j].add(wi.multiply(delta.multiply(delta)));
            }
        }
        return new ExactReference(mean, m2, w, w2);
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
        return m2[feature].doubleValue();
    }

    private BigDecimal populationVarianceExact(int feature) {
        return m2[feature].divide(weightSum, CONTEXT);
    }

    private BigDecimal sampleVarianceExact(int feature) {
        BigDecimal denominator = weightSum.subtract(weightSquareSum.divide(weightSum, CONTEXT));
        return m2[feature].divide(denominator, CONTEXT);
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
