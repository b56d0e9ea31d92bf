package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.RowSequence;
import org.junit.jupiter.api.DisplayName;

/**
 * {@link ExactFeatureSummary} obeys the merge laws bit for bit: whatever the split, order or tree, {@code toStatistics()}
 * is the same {@link FeatureStatistics} (equal counts, weights, means and variances, compared also as raw bits), because
 * nothing is rounded before it. One pass is within one ulp of the exact statistics.
 */
@DisplayName("ExactFeatureSummary laws")
class ExactFeatureSummaryLawsTest extends AccumulatorLaws<ExactFeatureSummary> {

    @Override
    ExactFeatureSummary empty() {
        return new ExactFeatureSummary();
    }

    @Override
    void assertSameStatistics(RowSequence rows, Outcome expected, Outcome actual, String what) {
        assertEquals(expected.failure(), actual.failure(), what + ": failure");
        if (expected.failure() == null) {
            FeatureStatistics e = expected.statistics();
            FeatureStatistics a = actual.statistics();
            assertEquals(bits(e.mean()), bits(a.mean()), what + ": bits of the means");
            assertEquals(bits(e.variance(VarianceMode.POPULATION)), bits(a.variance(VarianceMode.POPULATION)),
                    what + ": bits of the variances");
            assertEquals(e, a, what);
        }
    }

    /** Each of mean, variance and the weight sums is rounded once from its exact value: at most one ulp from it. */
    @Override
    void assertMatchesReference(RowSequence rows, ExactReference reference, FeatureStatistics actual, String what) {
        double[] mean = actual.mean();
        double[] variance = actual.variance(VarianceMode.POPULATION);
        double[] weight = actual.weightSum();
        double[] weightSquare = actual.weightSquareSum();
        for (int j = 0; j < mean.length; j++) {
            assertWithinOneUlp(reference.mean(j), mean[j], what + ": mean of feature " + j);
            assertWithinOneUlp(reference.populationVariance(j), variance[j], what + ": variance of feature " + j);
            assertWithinOneUlp(reference.weightSum(j), weight[j], what + ": weight of feature " + j);
            assertWithinOneUlp(reference.weightSquareSum(j), weightSquare[j], what + ": squared weight of feature " + j);
        }
    }

    private static void assertWithinOneUlp(double expected, double actual, String what) {
        double ulps = ulps(expected, actual, expected);
        assertTrue(ulps <= 1, what + ": expected " + expected + " but was " + actual + " (" + ulps + " ulp)");
    }
}
