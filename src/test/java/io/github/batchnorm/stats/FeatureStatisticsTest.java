package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("FeatureStatistics")
class FeatureStatisticsTest {

    private static FeatureStatistics single(long rows, double weight, double weightSquare, double mean, double variance) {
        return new FeatureStatistics(rows, new long[] {rows}, new double[] {weight}, new double[] {weightSquare},
                new double[] {mean}, new double[] {variance});
    }

    @Test
    void varianceModesDivideBySumOfWeightsOrItsReliabilityCorrection() {
        // Closed form: values 1, 2, 3, 4 -> mean 2.5, population variance 1.25, sample variance 5/3.
        FeatureStatistics statistics = FeatureStatistics.unweighted(4, new double[] {2.5}, new double[] {1.25});
        assertEquals(1.25, statistics.variance(VarianceMode.POPULATION)[0]);
        assertEquals(5.0 / 3.0, statistics.variance(VarianceMode.SAMPLE)[0], 1e-15);
        // Weights 1 and 3 (W = 4, sum w^2 = 10) with population variance 0.75: M2 = 3, denominator 4 - 10/4 = 1.5.
        assertEquals(2.0, single(2, 4, 10, 0, 0.75).variance(VarianceMode.SAMPLE)[0], 1e-15);
    }

    @Test
    void sampleVarianceOfOneRowIsZeroNotNaN() {
        assertArrayEquals(new double[] {0.0}, single(1, 1, 1, 7, 0).variance(VarianceMode.SAMPLE));
    }

    @Test
    void arraysAreCopiedInAndOut() {
        double[] mean = {1, 2};
        double[] variance = {3, 4};
        FeatureStatistics statistics = FeatureStatistics.unweighted(5, mean, variance);
        mean[0] = 99;
        variance[0] = 99;
        statistics.mean()[1] = 99;
        statistics.variance(VarianceMode.POPULATION)[1] = 99;
        statistics.count()[0] = 99;
        assertArrayEquals(new double[] {1, 2}, statistics.mean());
        assertArrayEquals(new double[] {3, 4}, statistics.variance(VarianceMode.POPULATION));
        assertArrayEquals(new long[] {5, 5}, statistics.count());
    }

    @Test
    void equalStatisticsAreEqualValues() {
        FeatureStatistics a = FeatureStatistics.unweighted(3, new double[] {1, 2}, new double[] {0.5, 0});
        FeatureStatistics b = FeatureStatistics.unweighted(3, new double[] {1, 2}, new double[] {0.5, 0});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, FeatureStatistics.unweighted(4, new double[] {1, 2}, new double[] {0.5, 0}));
        assertNotEquals(a, FeatureStatistics.unweighted(3, new double[] {1, 2.5}, new double[] {0.5, 0}));
    }

    @Test
    void constructorRejectsStatisticsThatCannotNormalise() {
        assertEquals("rowCount must be >= 1 but was 0", assertThrows(IllegalArgumentException.class,
                () -> FeatureStatistics.unweighted(0, new double[] {0}, new double[] {0})).getMessage());
        assertEquals("mean has 2 values but variance has 1", assertThrows(IllegalArgumentException.class,
                () -> FeatureStatistics.unweighted(1, new double[] {0, 0}, new double[] {0})).getMessage());
        assertEquals(1, assertThrows(NonFiniteStatisticException.class,
                () -> FeatureStatistics.unweighted(1, new double[] {0, Double.NaN}, new double[] {0, 0})).feature());
        assertEquals("feature 0 has a negative variance -1.0", assertThrows(IllegalArgumentException.class,
                () -> FeatureStatistics.unweighted(1, new double[] {0}, new double[] {-1})).getMessage());
        assertEquals("feature 0 has no value with positive weight (weight 0.0, squared weight 0.0)",
                assertThrows(IllegalArgumentException.class, () -> single(1, 0, 0, 0, 0)).getMessage());
    }
}
