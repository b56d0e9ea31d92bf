package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.ExactReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("ExactFeatureSummary")
class ExactFeatureSummaryTest {

    private static FeatureStatistics summarise(List<double[]> rows, List<Double> weights, int parts, long seed) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(seed));
        List<ExactFeatureSummary> pieces = new ArrayList<>();
        for (int p = 0; p < parts; p++) {
            pieces.add(new ExactFeatureSummary());
        }
        for (int k = 0; k < order.size(); k++) {
            int i = order.get(k);
            pieces.get(k % parts).add(rows.get(i), weights.get(i));
        }
        Collections.shuffle(pieces, new Random(seed + 1));
        ExactFeatureSummary total = new ExactFeatureSummary();
        for (ExactFeatureSummary piece : pieces) {
            total.merge(piece);
        }
        return total.toStatistics();
    }

    /**
     * Correctly rounded, as the exact mode claims: the very double the reference gives (exact to 50 digits, then rounded
     * once), not merely one ulp from it.
     */
    private static void assertCorrectlyRounded(double expected, double actual, String what) {
        assertTrue(expected == actual, what + ": expected " + expected + " but was " + actual + " ("
                + Math.abs(expected - actual) / Math.ulp(expected) + " ulp)");
    }

    @Test
    void anyOrderAndAnySplitGiveTheSameBits() {
        double[][] data = Data.dense(81, 1000, 4);
        List<double[]> rows = List.of(data);
        List<Double> weights = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(82);
        for (int i = 0; i < data.length; i++) {
            weights.add(random.nextInt(0, 4) * 0.25);
        }
        FeatureStatistics first = summarise(rows, weights, 1, 1);
        for (int parts : new int[] {2, 7, 64}) {
            for (long seed : new long[] {2, 3}) {
                assertEquals(first, summarise(rows, weights, parts, seed), parts + " parts, seed " + seed);
            }
        }
    }

    @Test
    void meanAndVarianceAreWithinOneUlpOnAdversarialData() {
        // A large common offset, magnitudes from 1e-8 to 1e8 and heavy cancellation: the cases that break naive sums.
        SplittableRandom random = new SplittableRandom(83);
        double[][] data = new double[4000][4];
        for (double[] row : data) {
            row[0] = 1e12 + Data.gaussian(random);
            row[1] = (random.nextBoolean() ? 1 : -1) * Math.pow(10, random.nextDouble(-8, 8));
            row[2] = 1e8 * (random.nextBoolean() ? 1 : -1) + 1e-8 * Data.gaussian(random);
            row[3] = 1e12 + 1e-3 * Data.gaussian(random);
        }
        ExactFeatureSummary summary = new ExactFeatureSummary();
        for (double[] row : data) {
            summary.add(row, 1.0);
        }
        FeatureStatistics statistics = summary.toStatistics();
        ExactReference reference = ExactReference.of(data);
        for (int j = 0; j < 4; j++) {
            assertCorrectlyRounded(reference.mean(j), statistics.mean()[j], "mean " + j);
            assertCorrectlyRounded(reference.populationVariance(j), statistics.variance(VarianceMode.POPULATION)[j],
                    "variance " + j);
        }
    }

    @Test
    void badRowsAreRejected() {
        ExactFeatureSummary summary = new ExactFeatureSummary().add(new double[] {1, 2}, 1.0);
        assertThrows(DimensionMismatchException.class, () -> summary.add(new double[] {1}, 1.0));
        assertEquals("feature 1 has a non-finite value NaN", assertThrows(IllegalArgumentException.class,
                () -> summary.add(new double[] {1, Double.NaN}, 1.0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> summary.add(new double[] {1, 2}, -1.0));
        assertThrows(IllegalStateException.class, () -> new ExactFeatureSummary().toStatistics());
        NonFiniteStatisticException overflow = assertThrows(NonFiniteStatisticException.class,
                () -> new ExactFeatureSummary().add(new double[] {1e300}, 1).add(new double[] {-1e300}, 1).toStatistics());
        assertEquals(0, overflow.feature());
    }
}
