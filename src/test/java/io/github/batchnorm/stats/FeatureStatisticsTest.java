package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("FeatureStatistics")
class FeatureStatisticsTest {

    @Test
    void varianceModesDivideBySumOfWeightsOrItsReliabilityCorrection() {
        // Closed form: values 1, 2, 3, 4 -> mean 2.5, M2 = 5.
        FeatureStatistics statistics = new FeatureStatistics(4, 4, 4, new double[] {2.5}, new double[] {5});
        assertEquals(1.25, statistics.variance(VarianceMode.POPULATION)[0]);
        assertEquals(5.0 / 3.0, statistics.variance(VarianceMode.SAMPLE)[0]);
        // Weights 1 and 3 (W = 4, sum w^2 = 10): reliability denominator 4 - 10/4 = 1.5.
        FeatureStatistics weighted = new FeatureStatistics(2, 4, 10, new double[] {0}, new double[] {3});
        assertEquals(2.0, weighted.variance(VarianceMode.SAMPLE)[0]);
    }

    @Test
    void sampleVarianceOfOneRowIsZeroNotNaN() {
        FeatureStatistics one = new FeatureStatistics(1, 1, 1, new double[] {7}, new double[] {0});
        assertArrayEquals(new double[] {0.0}, one.variance(VarianceMode.SAMPLE));
    }

    @Test
    void arraysAreCopiedInAndOut() {
        double[] mean = {1, 2};
        double[] m2 = {3, 4};
        FeatureStatistics statistics = new FeatureStatistics(5, 5, 5, mean, m2);
        mean[0] = 99;
        m2[0] = 99;
        statistics.mean()[1] = 99;
        statistics.m2()[1] = 99;
        assertArrayEquals(new double[] {1, 2}, statistics.mean());
        assertArrayEquals(new double[] {3, 4}, statistics.m2());
    }

    @Test
    void equalStatisticsAreEqualValues() {
        FeatureStatistics a = new FeatureStatistics(3, 3, 3, new double[] {1, 2}, new double[] {0.5, 0});
        FeatureStatistics b = new FeatureStatistics(3, 3, 3, new double[] {1, 2}, new double[] {0.5, 0});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, new FeatureStatistics(4, 4, 4, new double[] {1, 2}, new double[] {0.5, 0}));
        assertNotEquals(a, new FeatureStatistics(3, 3, 3, new double[] {1, 2.5}, new double[] {0.5, 0}));
    }

    @Test
    void constructorRejectsStatisticsThatCannotNormalise() {
        assertEquals("count must be >= 1 but was 0", assertThrows(IllegalArgumentException.class,
                () -> new FeatureStatistics(0, 1, 1, new double[] {0}, new double[] {0})).getMessage());
        assertEquals("mean has 2 values but m2 has 1", assertThrows(IllegalArgumentException.class,
                () -> new FeatureStatistics(1, 1, 1, new double[] {0, 0}, new double[] {0})).getMessage());
        assertEquals(1, assertThrows(NonFiniteStatisticException.class,
                () -> new FeatureStatistics(1, 1, 1, new double[] {0, Double.NaN}, new double[] {0, 0})).feature());
        assertEquals("feature 0 has a negative second moment -1.0", assertThrows(IllegalArgumentException.class,
                () -> new FeatureStatistics(1, 1, 1, new double[] {0}, new double[] {-1})).getMessage());
    }
}
