package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.RowSequence;
import io.github.batchnorm.testing.RowSequence.FeatureKind;
import io.github.batchnorm.testing.RowSequence.PathMix;
import io.github.batchnorm.testing.RowSequence.WeightMix;
import io.github.batchnorm.testing.SeededCases;
import io.github.batchnorm.testing.SeededCases.Case;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link FastFeatureSummary} obeys the merge laws up to rounding: two ways of summarising the same rows (split and merged
 * in any tree, merged in either order or grouping, or one pass against the exact BigDecimal statistics) agree exactly on
 * every row count, count and failure, and per feature within these bounds, each stated at the scale its error lives at:
 * <ul>
 *   <li><b>mean</b>: {@value #MEAN_ULPS} ulps of the largest magnitude among the feature's values. Values are subtracted
 *       from a shift (the feature's first value), exactly when both are close but with an error at the larger one's scale
 *       when magnitudes are mixed; and a mean of mixed signs can sit near zero, where its own ulp says nothing.</li>
 *   <li><b>population variance</b>: {@value #VARIANCE_ULPS} {@code * (1 + max w / min w)} ulps of the variance.
 *       Welford's weighted update forms {@code d - mean' = (1 - w / W') * delta} by a subtraction, which loses about
 *       {@code log2(w / W)} bits when one row outweighs all the rows before it; with equal weights the factor is 2.</li>
 *   <li><b>weight and squared weight</b>: {@value #WEIGHT_ULPS} ulps of the rows' total (squared) weight: a feature's
 *       weight is that total less its missing values' weight, and two orders of summing up to 800 weights differ by a
 *       random walk of roundings, about {@code sqrt(n)} half-ulps.</li>
 * </ul>
 *
 * <p><b>Zeros left out, with weights that round.</b> A sparse row skips its zeros, so {@code toStatistics()} derives
 * the weight of a feature's zeros as {@code (total weight - missing weight) - seen weight}, a difference of rounded sums
 * that is off by a few ulps of the total weight (integer weights sum exactly, and a feature without zeros takes its
 * weight from the seen values alone: an exact per-feature count tells the two apart). The mean and the variance inherit
 * that error through their derivatives in the zeros' weight, {@code -mean / W} and {@code (mean^2 - var) / W} for the
 * feature's weight {@code W}, which is large against their own ulps when the zeros weigh little beside the total: 0.0105
 * of a total of 302.7 in one case (seed 7232799362192941172L, {@code RowSequence.Spec(seed=8671722722559040401L,
 * rows=249, features=[OFFSET, CONSTANT, CONSTANT], paths=MOSTLY_DENSE, weights=FRACTIONAL)}, feature 0), whose
 * variance, 13587.231468297872, came out as 13587.231468171523, 4.7 times the variance bound above. So for such a
 * feature the mean and variance bounds each add {@value #WEIGHT_ULPS} {@code ulp(total weight) * |d/dW|}: the weight
 * bound, carried through. Only there: a feature with missing values and no zeros, where the defect fixed in 7f761e3
 * folded in a phantom zero of exactly that size, keeps the plain bounds.
 *
 * <p>Measured worst, as shares of the bounds, over 10,000 cases each, seeded apart from the tests, of the reference
 * sequences, the fractional-weight offsets and the splits (case seeds from 9001, 9002 and 9003): mean 0.65 (10.5 ulps of
 * the largest magnitude, tree against one pass), variance 0.63 (unit weights: 20 ulps where the bound is 32), weight
 * 0.63 (20 ulps of the total), squared weight 0.47 (15 ulps); features with derived zero weights: mean 0.54, variance
 * 0.12. The bounds are measured, not proven: about 1.5 times the worst seen.
 */
@DisplayName("FastFeatureSummary laws")
class FastFeatureSummaryLawsTest extends AccumulatorLaws<FastFeatureSummary> {
    static final int MEAN_ULPS = 16;
    static final int VARIANCE_ULPS = 16;
    static final int WEIGHT_ULPS = 32;

    @Override
    FastFeatureSummary empty() {
        return new FastFeatureSummary();
    }

    @Override
    void assertSameStatistics(RowSequence rows, Outcome expected, Outcome actual, String what) {
        assertEquals(expected.failure(), actual.failure(), what + ": failure");
        if (expected.failure() != null) {
            return;
        }
        FeatureStatistics e = expected.statistics();
        FeatureStatistics a = actual.statistics();
        assertEquals(e.rowCount(), a.rowCount(), what + ": rows");
        assertArrayEquals(e.count(), a.count(), what + ": counts");
        assertWithinBounds(rows, new Moments(e.mean(), e.variance(VarianceMode.POPULATION), e.weightSum(),
                e.weightSquareSum()), a, what);
    }

    @Override
    void assertMatchesReference(RowSequence rows, ExactReference reference, FeatureStatistics actual, String what) {
        assertWithinBounds(rows, Moments.of(reference, actual.numFeatures()), actual, what);
    }

    /** The per-feature numbers compared, from statistics or from the reference. */
    record Moments(double[] mean, double[] variance, double[] weight, double[] weightSquare) {
        static Moments of(ExactReference reference, int features) {
            Moments moments = new Moments(new double[features], new double[features], new double[features],
                    new double[features]);
            for (int j = 0; j < features; j++) {
                moments.mean[j] = reference.mean(j);
                moments.variance[j] = reference.populationVariance(j);
                moments.weight[j] = reference.weightSum(j);
                moments.weightSquare[j] = reference.weightSquareSum(j);
            }
            return moments;
        }
    }

    /** What the bounds compare, in the order {@link #shares} gives them. */
    static final String[] QUANTITIES = {"mean", "variance", "weight", "squared weight"};

    /**
     * Per feature, how far each of {@link #QUANTITIES} is from what was expected, as a share of the class comment's
     * bound: at most 1 within it.
     */
    static double[][] shares(RowSequence rows, Moments expected, FeatureStatistics actual) {
        double[] mean = actual.mean();
        double[] variance = actual.variance(VarianceMode.POPULATION);
        double[] weight = actual.weightSum();
        double[] weightSquare = actual.weightSquareSum();
        double spread = rows.weightSpread();
        double total = rows.totalWeight();
        double totalSquare = rows.totalWeightSquare();
        boolean weightsRound = rows.hasNonIntegerWeights();
        double[][] shares = new double[mean.length][];
        for (int j = 0; j < mean.length; j++) {
            double m = expected.mean()[j];
            double v = expected.variance()[j];
            // Zeros left out weigh a difference of sums: known to the weight bound, when weights round.
            double zeroWeightError = weightsRound && rows.leavesZerosOut(j) ? WEIGHT_ULPS * Math.ulp(total) : 0.0;
            double featureWeight = expected.weight()[j];
            shares[j] = new double[] {
                Math.abs(mean[j] - m) / (MEAN_ULPS * Math.ulp(rows.largestMagnitude(j))
                        + zeroWeightError * Math.abs(m) / featureWeight),
                Math.abs(variance[j] - v) / (VARIANCE_ULPS * spread * Math.ulp(v)
                        + zeroWeightError * (m * m + v) / featureWeight),
                ulps(expected.weight()[j], weight[j], total) / WEIGHT_ULPS,
                ulps(expected.weightSquare()[j], weightSquare[j], totalSquare) / WEIGHT_ULPS};
        }
        return shares;
    }

    /** Asserts the class comment's bounds, feature by feature. */
    void assertWithinBounds(RowSequence rows, Moments expected, FeatureStatistics actual, String what) {
        double[][] shares = shares(rows, expected, actual);
        double[][] wanted = {expected.mean(), expected.variance(), expected.weight(), expected.weightSquare()};
        double[][] got = {actual.mean(), actual.variance(VarianceMode.POPULATION), actual.weightSum(),
            actual.weightSquareSum()};
        for (int j = 0; j < shares.length; j++) {
            for (int k = 0; k < QUANTITIES.length; k++) {
                if (!(shares[j][k] <= 1.0)) {
                    fail(what + ": " + QUANTITIES[k] + " of feature " + j + ": expected " + wanted[k][j] + " but was "
                            + got[k][j] + ", " + shares[j][k] + " times its bound");
                }
            }
        }
    }

    /**
     * The law the defect fixed in 7f761e3 broke: with fractional weights, a feature with missing values or sparse zeros
     * keeps the precision of its spread, even a large offset's tiny one or a constant's zero. Before the fix, the rows
     * 999999.996, NaN, 999999.996 with weights 0.1, 0.7, 0.7 ({@code addWithMissing}) had variance 1.4e-4 instead of 0.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("offsetsWithFractionalWeightsAndMissingValues")
    void withNonIntegerWeightsAndLeftOutValuesTheVarianceKeepsItsPrecision(Case<RowSequence> generated) {
        RowSequence rows = generated.value();
        String at = generated + ": ";
        Outcome outcome = Outcome.of(onePass(rows));
        assertEquals(expectedFailure(rows), outcome.failure(), at + "failure");
        if (outcome.failure() == null) {
            assertWithinBounds(rows, Moments.of(ExactReference.withMissing(rows.denseValues(), rows.weights()),
                    rows.dimension()), outcome.statistics(), at + "one pass against BigDecimal");
        }
    }

    @Test
    void mostCasesOfTheFractionalWeightLawLeaveValuesOutAndOneInTenOnlyMissingValues() {
        List<Case<RowSequence>> cases = coverageCases(offsetsWithFractionalWeightsAndMissingValues());
        List<RowSequence> rounding = cases.stream().map(Case::value)
                .filter(rows -> expectedFailure(rows) == null && rows.hasNonIntegerWeights()).toList();
        long leftOut = rounding.stream().filter(rows -> IntStream.range(0, rows.dimension())
                .anyMatch(rows::leavesValuesOut)).count();
        // Where the phantom zero showed: values missing, no zeros, so the plain bounds apply.
        long onlyMissing = rounding.stream().filter(rows -> IntStream.range(0, rows.dimension())
                .anyMatch(j -> rows.leavesValuesOut(j) && !rows.leavesZerosOut(j))).count();
        String counts = leftOut + " with a feature with values left out, " + onlyMissing + " with one with missing values"
                + " and no zeros left out, of " + cases.size() + " cases";
        assertTrue(leftOut >= 0.5 * cases.size(), counts);
        assertTrue(onlyMissing >= 0.10 * cases.size(), counts);
    }

    /** Offsets and constants, 2 to 300 rows, mostly dense with fractional weights: where the phantom zero showed. */
    static Stream<Case<RowSequence>> offsetsWithFractionalWeightsAndMissingValues() {
        return SeededCases.cases(7007, TRIES, FastFeatureSummaryLawsTest::offsetsWithFractionalWeights);
    }

    static RowSequence offsetsWithFractionalWeights(SplittableRandom random) {
        int rows = random.nextInt(2, 301);
        List<FeatureKind> features = new ArrayList<>();
        for (int j = random.nextInt(1, 4); j > 0; j--) {
            features.add(random.nextBoolean() ? FeatureKind.OFFSET : FeatureKind.CONSTANT);
        }
        return RowSequence.of(new RowSequence.Spec(random.nextLong(), rows, features, PathMix.MOSTLY_DENSE,
                WeightMix.FRACTIONAL));
    }
}
