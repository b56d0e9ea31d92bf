package io.github.batchnorm.stats;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.ExactReference;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("FastFeatureSummary")
class FastFeatureSummaryTest {
    private static final double TIGHT = 1e-12;

    private static FastFeatureSummary dense(double[][] rows, int from, int to) {
        FastFeatureSummary summary = new FastFeatureSummary();
        for (int i = from; i < to; i++) {
            summary.add(rows[i]);
        }
        return summary;
    }

    /** A summary with the fit's switch to dense, but touched-only from a sparse first row at any dimension. */
    private static FastFeatureSummary touchedOnlyFirst() {
        return FastFeatureSummary.withDenseShare(1.0 / FastFeatureSummary.DENSE_FROM_SHARE);
    }

    private static FastFeatureSummary sparse(double[][] rows, int from, int to) {
        FastFeatureSummary summary = touchedOnlyFirst();
        for (int i = from; i < to; i++) {
            List<Integer> indices = new ArrayList<>();
            List<Double> values = new ArrayList<>();
            for (int j = 0; j < rows[i].length; j++) {
                if (rows[i][j] != 0.0) {
                    indices.add(j);
                    values.add(rows[i][j]);
                }
            }
            summary.addSparse(rows[i].length, indices.stream().mapToInt(Integer::intValue).toArray(),
                    values.stream().mapToDouble(Double::doubleValue).toArray());
        }
        return summary;
    }

    private static void assertMatchesReference(double[][] rows, FeatureStatistics statistics) {
        ExactReference reference = ExactReference.of(rows);
        assertEquals(rows.length, statistics.rowCount());
        double[] mean = statistics.mean();
        double[] population = statistics.variance(VarianceMode.POPULATION);
        double[] sample = statistics.variance(VarianceMode.SAMPLE);
        for (int j = 0; j < mean.length; j++) {
            // Means near zero are compared relative to the feature's spread, the scale at which their error lives.
            double spread = Math.sqrt(reference.populationVariance(j));
            assertClose(reference.mean(j), mean[j], TIGHT, spread, "mean of feature " + j);
            assertRelative(reference.populationVariance(j), population[j], TIGHT, "population variance of feature " + j);
            assertRelative(reference.sampleVariance(j), sample[j], TIGHT, "sample variance of feature " + j);
        }
    }

    @Test
    void askingWhetherTheSumsAreFiniteChangesNothingEvenWithABlockOpen() throws Exception {
        FastFeatureSummary summary = new FastFeatureSummary();
        for (double[] row : Data.dense(17, FastFeatureSummary.BLOCK_ROWS + 40, 3)) {
            summary.add(row, 1.0);
        }
        byte[] before = serialized(summary);
        assertTrue(summary.isFinite());
        assertArrayEquals(before, serialized(summary));
        summary.add(new double[] {1.0, Double.NaN, 2.0}, 1.0);
        assertFalse(summary.isFinite(), "a NaN in the open block");
    }

    private static byte[] serialized(Object value) throws java.io.IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(value);
        }
        return bytes.toByteArray();
    }

    /**
     * Regression: with fractional weights, total minus missing weight minus seen weight is a few ulps off 0, and that
     * residue used to be folded in as a zero at distance |mean|, giving this constant feature a variance of 1.4e-4.
     */
    @Test
    void aFeatureWithMissingValuesAndFractionalWeightsGetsNoPhantomZero() {
        FastFeatureSummary summary = new FastFeatureSummary()
                .addWithMissing(new double[] {999999.996}, 0.1)
                .addWithMissing(new double[] {Double.NaN}, 0.7)
                .addWithMissing(new double[] {999999.996}, 0.7);
        FeatureStatistics statistics = summary.toStatistics();
        assertEquals(999999.996, statistics.mean()[0]);
        assertEquals(0.0, statistics.variance(VarianceMode.POPULATION)[0]);
    }

    @Test
    void sparseRowsWithFractionalWeightsFoldInOnlyTheZerosTheyLeftOut() {
        FastFeatureSummary summary = new FastFeatureSummary()
                .addSparse(2, new int[] {0, 1}, new double[] {1e6, 5.0}, 2, 0.1)
                .addSparse(2, new int[] {0, 1}, new double[] {1e6, 5.0}, 2, 0.7)
                .addSparse(2, new int[] {1}, new double[] {5.0}, 1, 0.7);
        FeatureStatistics statistics = summary.toStatistics();
        assertEquals(0.0, statistics.variance(VarianceMode.POPULATION)[1], "feature 1 has no zeros");
        // Feature 0: weight 0.8 at 1e6 and 0.7 at 0, so mean 8e5/1.5 and variance 0.8 * 0.7 / 1.5^2 * 1e12.
        assertClose(0.8e6 / 1.5, statistics.mean()[0], 1e-15, 1.0, "mean with the zeros");
        assertClose(0.8 * 0.7 / (1.5 * 1.5) * 1e12, statistics.variance(VarianceMode.POPULATION)[0], 1e-14, 1.0,
                "variance with the zeros");
    }

    @Test
    void denseRowsMatchTheTwoPassBigDecimalReference() {
        double[][] rows = Data.dense(1, 2000, 7);
        assertMatchesReference(rows, dense(rows, 0, rows.length).toStatistics());
    }

    @Test
    void sparseRowsMatchTheReferenceWithTheirZerosCounted() {
        double[][] rows = Data.sparse(2, 1500, 9, 0.2);
        assertMatchesReference(rows, sparse(rows, 0, rows.length).toStatistics());
    }

    @Test
    void denseAndSparseRowsMixInOneSummary() {
        double[][] rows = Data.sparse(3, 1000, 6, 0.4);
        FastFeatureSummary mixed = dense(rows, 0, 300).merge(sparse(rows, 300, 700)).merge(dense(rows, 700, 1000));
        assertMatchesReference(rows, mixed.toStatistics());
        FastFeatureSummary interleaved = new FastFeatureSummary();
        for (int i = 0; i < rows.length; i++) {
            if (i % 3 == 0) {
                interleaved.add(rows[i]);
            } else {
                interleaved.merge(sparse(rows, i, i + 1));
            }
        }
        assertMatchesReference(rows, interleaved.toStatistics());
    }

    @Test
    void rowsOfAnotherDimensionAreRejected() {
        FastFeatureSummary summary = new FastFeatureSummary().add(new double[] {1, 2, 3});
        DimensionMismatchException dense = assertThrows(DimensionMismatchException.class,
                () -> summary.add(new double[] {1, 2}));
        assertEquals(3, dense.expected());
        assertEquals(2, dense.actual());
        assertThrows(DimensionMismatchException.class,
                () -> summary.addSparse(4, new int[] {0}, new double[] {1}));
        DimensionMismatchException merged = assertThrows(DimensionMismatchException.class,
                () -> summary.merge(new FastFeatureSummary().add(new double[] {1, 2, 3, 4})));
        assertEquals("rows have different numbers of features: 3 and 4", merged.getMessage());
        assertEquals(1, summary.count(), "a rejected row must not be counted");
        assertEquals(3, summary.dimension());
    }

    @Test
    void constantFeatureHasVarianceExactlyZero() {
        FastFeatureSummary summary = new FastFeatureSummary();
        SplittableRandom random = new SplittableRandom(8);
        for (int i = 0; i < 1000; i++) {
            summary.add(new double[] {0.1, 123456.789, random.nextDouble()});
        }
        FastFeatureSummary other = new FastFeatureSummary();
        for (int i = 0; i < 77; i++) {
            other.add(new double[] {0.1, 123456.789, random.nextDouble()});
        }
        FeatureStatistics statistics = summary.merge(other).toStatistics();
        assertEquals(0.0, statistics.variance(VarianceMode.POPULATION)[0]);
        assertEquals(0.0, statistics.variance(VarianceMode.SAMPLE)[1]);
        assertEquals(0.1, statistics.mean()[0]);
        assertEquals(123456.789, statistics.mean()[1]);
    }

    @Test
    void largeOffsetWithUnitNoiseKeepsTheVarianceWithin1eMinus12() {
        SplittableRandom random = new SplittableRandom(9);
        double[][] rows = new double[20000][1];
        for (double[] row : rows) {
            row[0] = 1e9 + Data.gaussian(random);
        }
        FastFeatureSummary left = dense(rows, 0, 7000);
        FeatureStatistics statistics = left.merge(dense(rows, 7000, rows.length)).toStatistics();
        ExactReference reference = ExactReference.of(rows);
        assertRelative(reference.populationVariance(0), statistics.variance(VarianceMode.POPULATION)[0], 1e-12,
                "variance of 1e9 + N(0,1)");
        assertRelative(reference.mean(0), statistics.mean()[0], 1e-15, "mean of 1e9 + N(0,1)");
    }

    @Test
    void integerWeightsEqualReplicatedRows() {
        double[][] rows = Data.dense(10, 300, 4);
        SplittableRandom random = new SplittableRandom(11);
        FastFeatureSummary weighted = new FastFeatureSummary();
        List<double[]> replicated = new ArrayList<>();
        double[] weights = new double[rows.length];
        for (int i = 0; i < rows.length; i++) {
            int weight = random.nextInt(4);
            weights[i] = weight;
            weighted.add(rows[i], weight);
            for (int k = 0; k < weight; k++) {
                replicated.add(rows[i]);
            }
        }
        FeatureStatistics fromWeights = weighted.toStatistics();
        ExactReference reference = ExactReference.of(replicated.toArray(new double[0][]));
        assertEquals(replicated.size(), fromWeights.weightSum()[0]);
        for (int j = 0; j < 4; j++) {
            assertRelative(reference.mean(j), fromWeights.mean()[j], TIGHT, "weighted mean " + j);
            assertRelative(reference.populationVariance(j), fromWeights.variance(VarianceMode.POPULATION)[j], TIGHT,
                    "weighted population variance " + j);
        }
        ExactReference weightedReference = ExactReference.weighted(rows, weights);
        for (int j = 0; j < 4; j++) {
            assertRelative(weightedReference.sampleVariance(j), fromWeights.variance(VarianceMode.SAMPLE)[j], TIGHT,
                    "reliability-weighted sample variance " + j);
        }
    }

    @Test
    void zeroWeightRowsAreIgnoredButStillChecked() {
        double[][] rows = Data.dense(12, 100, 3);
        FastFeatureSummary summary = dense(rows, 0, rows.length);
        FeatureStatistics before = summary.toStatistics();
        summary.add(new double[] {1e6, -1e6, 42}, 0.0);
        FeatureStatistics after = summary.toStatistics();
        assertEquals(100, after.rowCount());
        assertThrows(DimensionMismatchException.class, () -> summary.add(new double[] {1, 2}, 0.0));
        assertArrayEquals(before.mean(), after.mean());
        assertArrayEquals(before.variance(VarianceMode.POPULATION), after.variance(VarianceMode.POPULATION));
    }

    @Test
    void invalidWeightsAreRejected() {
        FastFeatureSummary summary = new FastFeatureSummary();
        for (double weight : new double[] {-1.0, Double.NaN, Double.POSITIVE_INFINITY}) {
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                    () -> summary.add(new double[] {1.0}, weight));
            assertEquals("row weight must be finite and >= 0 but was " + weight, error.getMessage());
        }
        assertEquals(0, summary.count());
    }

    @Test
    void nonFiniteInputIsReportedWithItsFeatureIndex() {
        FastFeatureSummary summary = new FastFeatureSummary().add(new double[] {1, 2, 3}).add(new double[] {1, Double.NaN, 3});
        NonFiniteStatisticException error = assertThrows(NonFiniteStatisticException.class, summary::toStatistics);
        assertEquals(1, error.feature());
        FastFeatureSummary overflowing = new FastFeatureSummary().add(new double[] {1e200}).add(new double[] {-1e200});
        assertEquals(0, assertThrows(NonFiniteStatisticException.class, overflowing::toStatistics).feature());
    }

    @Test
    void valuesUpTo1e150GiveFiniteExactStatistics() {
        SplittableRandom random = new SplittableRandom(13);
        double[][] rows = new double[5000][2];
        for (double[] row : rows) {
            row[0] = 1e150 * Data.gaussian(random);
            row[1] = 1e150 + 1e140 * Data.gaussian(random);
        }
        FeatureStatistics statistics = dense(rows, 0, 2000).merge(dense(rows, 2000, rows.length)).toStatistics();
        ExactReference reference = ExactReference.of(rows);
        for (int j = 0; j < 2; j++) {
            assertClose(reference.mean(j), statistics.mean()[j], TIGHT, Math.sqrt(reference.populationVariance(j)),
                    "mean " + j);
            assertRelative(reference.populationVariance(j), statistics.variance(VarianceMode.POPULATION)[j], TIGHT,
                    "variance " + j);
        }
    }

    @Test
    void missingValuesAreLeftOutOfTheirOwnFeatureOnly() {
        double[][] rows = Data.dense(14, 400, 3);
        double[][] complete = new double[3][];
        FastFeatureSummary dense = new FastFeatureSummary();
        FastFeatureSummary sparse = new FastFeatureSummary();
        List<List<Double>> kept = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        double[] invalid = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
        for (int i = 0; i < rows.length; i++) {
            double[] row = rows[i].clone();
            if (i % 7 == 0) {
                row[i % 3] = invalid[i % 3];
            }
            for (int j = 0; j < 3; j++) {
                if (Double.isFinite(row[j])) {
                    kept.get(j).add(row[j]);
                }
            }
            (i % 2 == 0 ? dense : sparse).addWithMissing(row, 1.0);
            sparse.addSparseWithMissing(3, new int[] {0, 1, 2}, row, 3, 0.0);
        }
        FeatureStatistics statistics = dense.merge(sparse).toStatistics();
        for (int j = 0; j < 3; j++) {
            complete[j] = kept.get(j).stream().mapToDouble(Double::doubleValue).toArray();
            ExactReference reference = ExactReference.of(column(complete[j]));
            assertEquals(complete[j].length, statistics.count()[j], "count of feature " + j);
            assertEquals(complete[j].length, statistics.weightSum()[j], "weight of feature " + j);
            assertRelative(reference.mean(0), statistics.mean()[j], TIGHT, "mean " + j);
            assertRelative(reference.populationVariance(0), statistics.variance(VarianceMode.POPULATION)[j], TIGHT,
                    "variance " + j);
            assertRelative(reference.sampleVariance(0), statistics.variance(VarianceMode.SAMPLE)[j], TIGHT,
                    "sample variance " + j);
        }
        assertEquals(400, statistics.rowCount(), "rows of weight zero are not counted");
    }

    @Test
    void sparseMissingValuesKeepTheImplicitZerosOfTheRow() {
        // Feature 1: values 4 (stored), NaN (missing), and one implicit zero -> mean 2, population variance 4.
        FastFeatureSummary summary = new FastFeatureSummary()
                .addSparseWithMissing(2, new int[] {0, 1}, new double[] {1, 4}, 2, 1.0)
                .addSparseWithMissing(2, new int[] {1}, new double[] {Double.NaN}, 1, 1.0)
                .addSparseWithMissing(2, new int[] {0}, new double[] {1}, 1, 1.0);
        FeatureStatistics statistics = summary.toStatistics();
        assertArrayEquals(new long[] {3, 2}, statistics.count());
        assertArrayEquals(new double[] {2.0 / 3.0, 2.0}, statistics.mean(), 1e-15);
        assertArrayEquals(new double[] {2.0 / 9.0, 4.0}, statistics.variance(VarianceMode.POPULATION), 1e-15);
    }

    @Test
    void aWideSparseSummaryHoldsOnlyTheFeaturesItTouchedAndFoldsInTheZerosOfTheRest() {
        int wide = 1 << 24;
        // Rows 0..99 each touch 3 features of 2^24: 7 (1, 2, 3, ...), 2^24 - 1 (always 5) and one of 40 others.
        FastFeatureSummary summary = new FastFeatureSummary();
        for (int i = 0; i < 100; i++) {
            int other = 1000 + 4099 * (i % 40);
            summary.addSparse(wide, new int[] {7, other, wide - 1}, new double[] {i + 1, -2.0, 5.0});
        }
        assertTrue(summary.isTouchedOnly());
        assertEquals(42, summary.heldFeatures());
        FeatureStatistics.Moments stored = summary.moments();
        // Its moments store the touched features only, in increasing order; the dense view spreads them out.
        assertEquals(42, stored.storedFeatures.length);
        assertEquals(7, stored.storedFeatures[0]);
        assertEquals(1000, stored.storedFeatures[1]);
        assertEquals(wide - 1, stored.storedFeatures[41]);
        assertEquals(100.0, stored.implicitWeightSum);
        FeatureStatistics.Moments moments = stored.alignTo(null);
        // Feature 7: 1..100, mean 50.5, population variance (100^2 - 1) / 12.
        assertEquals(50.5, moments.mean[7]);
        assertRelative((100.0 * 100.0 - 1.0) / 12.0, moments.variance[7], TIGHT, "variance of feature 7");
        assertEquals(5.0, moments.mean[wide - 1]);
        assertEquals(0.0, moments.variance[wide - 1]);
        // Each of the 40 others: -2 in 100/40 = 2.5 rows on average; exactly 3 rows for i % 40 < 20, else 2.
        assertRelative(-2.0 * 3 / 100, moments.mean[1000], TIGHT, "mean of a feature touched 3 times");
        double p = 0.03;
        assertRelative(4.0 * p * (1 - p), moments.variance[1000], TIGHT, "variance of a feature touched 3 times");
        assertEquals(0.0, moments.mean[8]);
        assertEquals(0.0, moments.variance[8]);
        assertEquals(100, moments.count[8], "an untouched feature saw a zero in every row");
        assertEquals(100.0, moments.weightSum[8]);
    }

    @Test
    void aTouchedOnlySummaryTravelsSerialisedInAFewDozenBytesPerTouchedFeatureAndGoesOnAsBefore() throws Exception {
        int wide = 1 << 22;
        SplittableRandom random = new SplittableRandom(5);
        FastFeatureSummary summary = new FastFeatureSummary();
        for (int i = 0; i < 1000; i++) {
            int[] indices = random.ints(0, wide).distinct().limit(20).sorted().toArray();
            summary.addSparse(wide, indices, random.doubles(20, -3, 7).toArray());
        }
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(summary);
        }
        // A touched feature's slot is five 8-byte values and its 4-byte index: 44 bytes, and no table.
        int touched = summary.heldFeatures();
        assertTrue(bytes.size() < 44L * touched + 1000, bytes.size() + " bytes for " + touched + " touched features");
        FastFeatureSummary copy;
        try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(
                new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
            copy = (FastFeatureSummary) in.readObject();
        }
        assertTrue(copy.isTouchedOnly());
        for (int i = 0; i < 200; i++) {
            int[] indices = random.ints(0, 64).distinct().limit(5).sorted().toArray();
            double[] values = random.doubles(5, -1, 1).toArray();
            summary.addSparse(wide, indices, values);
            copy.addSparse(wide, indices, values);
        }
        FeatureStatistics.Moments expected = summary.moments();
        FeatureStatistics.Moments actual = copy.moments();
        assertArrayEquals(expected.mean, actual.mean);
        assertArrayEquals(expected.variance, actual.variance);
        assertArrayEquals(expected.count, actual.count);
    }

    @Test
    void theTouchedOnlyFormSwitchesToDenseJustAboveAQuarterOfTheFeatures() {
        int features = 64;
        int limit = features / FastFeatureSummary.DENSE_FROM_SHARE;
        FastFeatureSummary summary = touchedOnlyFirst();
        for (int j = 0; j < limit; j++) {
            summary.addSparse(features, new int[] {j}, new double[] {j + 1.0});
        }
        assertTrue(summary.isTouchedOnly(), "at the limit");
        assertEquals(limit, summary.heldFeatures());
        summary.addSparse(features, new int[] {0, 3}, new double[] {2.0, 4.0});
        assertTrue(summary.isTouchedOnly(), "touching held features again adds none");
        summary.addSparse(features, new int[] {limit}, new double[] {1.0});
        assertFalse(summary.isTouchedOnly(), "one above the limit");
        assertEquals(features, summary.heldFeatures());

        FastFeatureSummary denseRow = touchedOnlyFirst().addSparse(features, new int[] {1}, new double[] {1.0});
        assertTrue(denseRow.isTouchedOnly());
        denseRow.add(new double[features]);
        assertFalse(denseRow.isTouchedOnly(), "a dense row makes the summary dense");
    }

    @Test
    void aSummaryOfAtMostTwoToTheTwentyFeaturesIsDenseFromItsFirstSparseRowAndAWiderOneTouchedOnly() {
        int limit = 1 << 20;
        FastFeatureSummary atLimit = new FastFeatureSummary().addSparse(limit, new int[] {5}, new double[] {2.0});
        assertFalse(atLimit.isTouchedOnly(), "2^20 features");
        assertEquals(limit, atLimit.heldFeatures());
        FastFeatureSummary wider = new FastFeatureSummary().addSparse(limit + 1, new int[] {5}, new double[] {2.0});
        assertTrue(wider.isTouchedOnly(), "2^20 + 1 features");
        assertEquals(1, wider.heldFeatures());

        // Dense from the start or touched-only first, the same rows give the same bits.
        double[][] rows = Data.sparse(41, 300, 512, 0.02);
        FastFeatureSummary denseFirst = new FastFeatureSummary();
        FastFeatureSummary touchedFirst = sparse(rows, 0, 0);
        for (double[] row : rows) {
            int[] indices = java.util.stream.IntStream.range(0, row.length).filter(j -> row[j] != 0.0).toArray();
            double[] values = java.util.Arrays.stream(indices).mapToDouble(j -> row[j]).toArray();
            denseFirst.addSparse(row.length, indices, values);
            touchedFirst.addSparse(row.length, indices, values);
        }
        assertFalse(denseFirst.isTouchedOnly());
        FeatureStatistics expected = touchedFirst.toStatistics();
        FeatureStatistics actual = denseFirst.toStatistics();
        assertArrayEquals(expected.mean(), actual.mean());
        assertArrayEquals(expected.variance(VarianceMode.POPULATION), actual.variance(VarianceMode.POPULATION));
        assertArrayEquals(expected.count(), actual.count());
        assertMatchesReference(rows, actual);
    }

    @Test
    void mergingATouchedOnlySummaryIntoADenseOneGivesTheStatisticsOfBoth() {
        double[][] rows = Data.sparse(33, 120, 256, 0.001);
        FastFeatureSummary merged = dense(rows, 0, 60).merge(sparse(rows, 60, 120));
        FastFeatureSummary other = sparse(rows, 60, 120);
        assertTrue(other.isTouchedOnly(), "60 rows at density 0.001 touch fewer than 64 of 256 features");
        assertMatchesReference(rows, merged.toStatistics());
        FastFeatureSummary reversed = sparse(rows, 60, 120).merge(dense(rows, 0, 60));
        assertFalse(reversed.isTouchedOnly());
        assertMatchesReference(rows, reversed.toStatistics());
    }

    private static double[][] column(double[] values) {
        double[][] rows = new double[values.length][];
        for (int i = 0; i < values.length; i++) {
            rows[i] = new double[] {values[i]};
        }
        return rows;
    }
}
