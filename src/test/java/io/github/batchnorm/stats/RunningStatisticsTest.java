package io.github.batchnorm.stats;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.ExactReference;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@DisplayName("Merging statistics exactly and averaging them with momentum")
class RunningStatisticsTest {
    private static final double TIGHT = 1e-12;

    private static FeatureStatistics fit(double[][] rows, double[] weights, int from, int to) {
        FastFeatureSummary summary = new FastFeatureSummary();
        for (int i = from; i < to; i++) {
            summary.add(rows[i], weights[i]);
        }
        return summary.toStatistics();
    }

    private static double[] ones(int n) {
        double[] weights = new double[n];
        Arrays.fill(weights, 1.0);
        return weights;
    }

    /**
     * Weights 0.5, 1, ..., 2.5, and 0 for every row whose index ends in 5: exact binary fractions, so weight sums are
     * exact in any order.
     */
    private static double[] halfStepWeights(long seed, int n) {
        SplittableRandom random = new SplittableRandom(seed);
        double[] weights = new double[n];
        for (int i = 0; i < n; i++) {
            weights[i] = i % 10 == 5 ? 0.0 : random.nextInt(1, 6) * 0.5;
        }
        return weights;
    }

    private static void assertMatchesReference(ExactReference reference, FeatureStatistics statistics) {
        for (int j = 0; j < statistics.numFeatures(); j++) {
            double spread = Math.sqrt(reference.populationVariance(j));
            assertClose(reference.mean(j), statistics.mean()[j], TIGHT, spread, "mean of feature " + j);
            assertRelative(reference.populationVariance(j), statistics.variance(VarianceMode.POPULATION)[j], TIGHT,
                    "population variance of feature " + j);
            assertRelative(reference.sampleVariance(j), statistics.variance(VarianceMode.SAMPLE)[j], TIGHT,
                    "sample variance of feature " + j);
        }
    }

    private static void assertCloseStatistics(FeatureStatistics expected, FeatureStatistics actual) {
        assertEquals(expected.rowCount(), actual.rowCount(), "rowCount");
        assertArrayEquals(expected.count(), actual.count(), "count");
        for (int j = 0; j < expected.numFeatures(); j++) {
            double spread = Math.sqrt(expected.variance(VarianceMode.POPULATION)[j]);
            assertRelative(expected.weightSum()[j], actual.weightSum()[j], TIGHT, "weightSum of feature " + j);
            assertRelative(expected.weightSquareSum()[j], actual.weightSquareSum()[j], TIGHT, "weightSquareSum " + j);
            assertClose(expected.mean()[j], actual.mean()[j], TIGHT, spread, "mean of feature " + j);
            assertRelative(expected.variance(VarianceMode.POPULATION)[j], actual.variance(VarianceMode.POPULATION)[j],
                    TIGHT, "variance of feature " + j);
        }
    }

    @Test
    void mergingTheStatisticsOfPartsEqualsTheReferenceOfTheUnion() {
        double[][] rows = Data.dense(81, 1200, 5);
        int[][] splits = {{0, 600, 1200}, {0, 1, 1200}, {0, 1199, 1200}, {0, 100, 450, 451, 1200}};
        for (double[] weights : new double[][] {ones(rows.length), halfStepWeights(82, rows.length)}) {
            ExactReference reference = ExactReference.weighted(rows, weights);
            FeatureStatistics whole = fit(rows, weights, 0, rows.length);
            for (int[] split : splits) {
                FeatureStatistics merged = fit(rows, weights, split[0], split[1]);
                for (int k = 1; k + 1 < split.length; k++) {
                    merged = merged.merge(fit(rows, weights, split[k], split[k + 1]));
                }
                assertTrue(merged.isExact());
                assertMatchesReference(reference, merged);
                assertEquals(whole.rowCount(), merged.rowCount());
                assertArrayEquals(whole.count(), merged.count());
                assertArrayEquals(whole.weightSum(), merged.weightSum(), "half-step weights add up exactly in any order");
                assertArrayEquals(whole.weightSquareSum(), merged.weightSquareSum());
            }
        }
    }

    @Test
    void mergeIsCommutativeAndAssociativeWithinRounding() {
        double[][] rows = Data.dense(83, 900, 4);
        double[] weights = halfStepWeights(84, rows.length);
        FeatureStatistics a = fit(rows, weights, 0, 200);
        FeatureStatistics b = fit(rows, weights, 200, 650);
        FeatureStatistics c = fit(rows, weights, 650, 900);
        assertCloseStatistics(a.merge(b), b.merge(a));
        assertCloseStatistics(a.merge(b).merge(c), a.merge(b.merge(c)));
        assertCloseStatistics(a.merge(b).merge(c), c.merge(a).merge(b));
    }

    @Test
    void mergeLeavesBothSidesUnchanged() {
        double[][] rows = Data.dense(85, 100, 3);
        FeatureStatistics a = fit(rows, ones(100), 0, 50);
        FeatureStatistics b = fit(rows, ones(100), 50, 100);
        FeatureStatistics aCopy = fit(rows, ones(100), 0, 50);
        FeatureStatistics bCopy = fit(rows, ones(100), 50, 100);
        a.merge(b);
        assertEquals(aCopy, a);
        assertEquals(bCopy, b);
    }

    @Test
    void aSummaryMergedIntoStatisticsKeepsPerFeatureCountsAndFeaturesWithNoValueInTheBatch() {
        double[][] rows = Data.dense(86, 300, 3);
        // Rows 0..199 miss feature 1 now and then; rows 200..299 miss feature 2 entirely.
        FastFeatureSummary first = new FastFeatureSummary();
        FastFeatureSummary second = new FastFeatureSummary();
        FastFeatureSummary union = new FastFeatureSummary();
        for (int i = 0; i < rows.length; i++) {
            double[] row = rows[i].clone();
            if (i < 200 && i % 7 == 0) {
                row[1] = Double.NaN;
            }
            if (i >= 200) {
                row[2] = Double.NaN;
            }
            (i < 200 ? first : second).addWithMissing(row, 1.0);
            union.addWithMissing(row, 1.0);
        }
        FeatureStatistics base = first.toStatistics();
        FeatureStatistics merged = second.mergeInto(base);
        FeatureStatistics expected = union.toStatistics();
        assertCloseStatistics(expected, merged);
        assertArrayEquals(new long[] {300, 271, 200}, merged.count());
        assertEquals(base.mean()[2], merged.mean()[2], "a feature with no value in the batch keeps its statistics");
        assertEquals(base.variance(VarianceMode.POPULATION)[2], merged.variance(VarianceMode.POPULATION)[2]);
    }

    @Test
    void anEmptySummaryMergesAsTheIdentity() {
        FeatureStatistics base = FeatureStatistics.unweighted(3, new double[] {1, 2}, new double[] {0.5, 4});
        assertSame(base, new FastFeatureSummary().mergeInto(base));
        assertSame(base, new FastFeatureSummary().movingAverageInto(base, 0.9, VarianceMode.POPULATION));
    }

    @Test
    void statisticsOfAnotherDimensionAreRejected() {
        FeatureStatistics two = FeatureStatistics.unweighted(3, new double[] {1, 2}, new double[] {0.5, 4});
        FeatureStatistics three = FeatureStatistics.unweighted(3, new double[] {1, 2, 3}, new double[] {0.5, 4, 1});
        DimensionMismatchException error = assertThrows(DimensionMismatchException.class, () -> two.merge(three));
        assertEquals("rows have different numbers of features: 2 and 3", error.getMessage());
        assertThrows(DimensionMismatchException.class, () -> two.movingAverage(three, 0.5, VarianceMode.POPULATION));
    }

    @ParameterizedTest(name = "{0} variance")
    @EnumSource(VarianceMode.class)
    void movingAverageMatchesItsClosedFormOverThreeBatches(VarianceMode mode) {
        double[][] rows = Data.dense(87, 600, 4);
        double[] weights = halfStepWeights(88, rows.length);
        FeatureStatistics b1 = fit(rows, weights, 0, 150);
        FeatureStatistics b2 = fit(rows, weights, 150, 400);
        FeatureStatistics b3 = fit(rows, weights, 400, 600);
        double m = 0.8;
        FeatureStatistics running = b1.movingAverage(b2, m, mode).movingAverage(b3, m, mode);
        assertFalse(running.isExact());
        assertEquals(mode, running.storedVarianceMode());
        for (int j = 0; j < 4; j++) {
            // The first batch starts the average; each later one enters with weight (1 - m).
            double mean = m * m * b1.mean()[j] + m * (1 - m) * b2.mean()[j] + (1 - m) * b3.mean()[j];
            double variance = m * m * b1.variance(mode)[j] + m * (1 - m) * b2.variance(mode)[j]
                    + (1 - m) * b3.variance(mode)[j];
            assertClose(mean, running.mean()[j], TIGHT, Math.sqrt(variance), "running mean of feature " + j);
            assertRelative(variance, running.variance(mode)[j], TIGHT, "running variance of feature " + j);
        }
        assertEquals(600 - Arrays.stream(weights).filter(w -> w == 0.0).count(), running.rowCount(),
                "counts keep accumulating");
        assertArrayEquals(b1.merge(b2).merge(b3).weightSum(), running.weightSum());
    }

    @Test
    void momentumZeroReplacesTheStatisticsWithTheBatchs() {
        double[][] rows = Data.dense(89, 200, 2);
        FeatureStatistics first = fit(rows, ones(200), 0, 100);
        FeatureStatistics batch = fit(rows, ones(200), 100, 200);
        FeatureStatistics replaced = first.movingAverage(batch, 0.0, VarianceMode.POPULATION);
        assertArrayEquals(batch.mean(), replaced.mean());
        assertArrayEquals(batch.variance(VarianceMode.POPULATION), replaced.variance(VarianceMode.POPULATION));
    }

    @Test
    void importedStatisticsHaveNoCountAndMoveLikeKerasMovingAverages() {
        // Keras starts moving_mean at 0 and moving_variance at 1 and moves them from the first batch on.
        FeatureStatistics start = FeatureStatistics.running(new double[] {0, 0}, new double[] {1, 1},
                VarianceMode.POPULATION);
        assertEquals(0, start.rowCount());
        assertArrayEquals(new long[] {0, 0}, start.count());
        FeatureStatistics batch = FeatureStatistics.unweighted(4, new double[] {10, -2}, new double[] {9, 0.25});
        FeatureStatistics moved = start.movingAverage(batch, 0.99, VarianceMode.POPULATION);
        assertClose(0.99 * 0 + 0.01 * 10, moved.mean()[0], TIGHT, 1.0, "moving mean");
        assertRelative(0.99 * 1 + 0.01 * 9, moved.variance(VarianceMode.POPULATION)[0], TIGHT, "moving variance");
        assertEquals(4, moved.rowCount());
    }

    @Test
    void aFeatureWithNoValueInTheBatchKeepsItsRunningValues() {
        FastFeatureSummary batch = new FastFeatureSummary().addWithMissing(new double[] {1, Double.NaN}, 1.0)
                .addWithMissing(new double[] {3, Double.NaN}, 1.0);
        FeatureStatistics base = FeatureStatistics.unweighted(5, new double[] {0, 7}, new double[] {1, 2});
        FeatureStatistics moved = batch.movingAverageInto(base, 0.5, VarianceMode.POPULATION);
        assertArrayEquals(new double[] {1.0, 7.0}, moved.mean());
        assertArrayEquals(new double[] {0.5 * 1 + 0.5 * 1, 2.0}, moved.variance(VarianceMode.POPULATION));
        assertArrayEquals(new long[] {7, 5}, moved.count());
    }

    @Test
    void runningStatisticsRefuseWhatOnlyExactMomentsCanDo() {
        FeatureStatistics exact = FeatureStatistics.unweighted(3, new double[] {1}, new double[] {2});
        FeatureStatistics running = FeatureStatistics.running(new double[] {1}, new double[] {2}, VarianceMode.POPULATION);
        assertEquals("these are running statistics whose variance is a population variance; it cannot be converted to a"
                + " sample variance, which needs the weights of exact moments",
                assertThrows(IllegalArgumentException.class, () -> running.variance(VarianceMode.SAMPLE)).getMessage());
        assertEquals("cannot merge running statistics exactly: they are not the moments of a dataset",
                assertThrows(IllegalArgumentException.class, () -> exact.merge(running)).getMessage());
        assertEquals("cannot merge into running statistics exactly: they are not the moments of a dataset",
                assertThrows(IllegalArgumentException.class, () -> running.merge(exact)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> running.movingAverage(exact, 0.9, VarianceMode.SAMPLE)).getMessage()
                .startsWith("these are running statistics whose variance is a population variance"));
        assertEquals("the batch of a moving average must be exact statistics of the batch's rows",
                assertThrows(IllegalArgumentException.class,
                        () -> exact.movingAverage(running, 0.9, VarianceMode.POPULATION)).getMessage());
        for (double momentum : new double[] {-0.1, 1.0, Double.NaN}) {
            assertEquals("momentum must be in [0, 1) but was " + momentum, assertThrows(IllegalArgumentException.class,
                    () -> exact.movingAverage(exact, momentum, VarianceMode.POPULATION)).getMessage());
        }
    }

    @Test
    void runningStatisticsAreValidated() {
        assertEquals("feature 0 has a negative or non-finite count or weight (count -1, weight 0.0, squared weight 0.0)",
                assertThrows(IllegalArgumentException.class, () -> FeatureStatistics.running(0, new long[] {-1},
                        new double[] {0}, new double[] {0}, new double[] {0}, new double[] {1},
                        VarianceMode.POPULATION)).getMessage());
        assertEquals("feature 0 has a negative variance -1.0", assertThrows(IllegalArgumentException.class,
                () -> FeatureStatistics.running(new double[] {0}, new double[] {-1}, VarianceMode.POPULATION))
                .getMessage());
        assertEquals(0, assertThrows(NonFiniteStatisticException.class,
                () -> FeatureStatistics.running(new double[] {Double.NaN}, new double[] {1}, VarianceMode.SAMPLE))
                .feature());
        assertEquals("mean has 2 values but variance has 1", assertThrows(IllegalArgumentException.class,
                () -> FeatureStatistics.running(new double[] {0, 0}, new double[] {1}, VarianceMode.SAMPLE))
                .getMessage());
    }

    @Test
    void exactAndRunningStatisticsWithTheSameNumbersAreDifferentValues() {
        FeatureStatistics exact = FeatureStatistics.unweighted(3, new double[] {1}, new double[] {2});
        FeatureStatistics running = FeatureStatistics.running(3, new long[] {3}, new double[] {3}, new double[] {3},
                new double[] {1}, new double[] {2}, VarianceMode.POPULATION);
        assertFalse(exact.equals(running));
        assertEquals(running, FeatureStatistics.running(3, new long[] {3}, new double[] {3}, new double[] {3},
                new double[] {1}, new double[] {2}, VarianceMode.POPULATION));
        assertTrue(running.toString().contains("running population"), running.toString());
    }
}
