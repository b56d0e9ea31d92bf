package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Statistics and coefficients that store only the touched features: the same bits as the dense form on shapes where both
 * run, and the rule for the rest.
 */
@DisplayName("FeatureStatistics and AffineCoefficients storing only touched features")
class StoredFeatureStatisticsTest {
    /** Above {@link FastFeatureSummary#DENSE_FROM_START_UP_TO}, so a sparse first row starts the touched-only form. */
    private static final int WIDE = (1 << 21) + 3;

    /** Sparse rows over {@link #WIDE} features: {@code nonZeros} random features each, a few heavy-hitters, weights. */
    private static void fold(long seed, int rows, int nonZeros, FastFeatureSummary... summaries) {
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < rows; i++) {
            int[] indices = random.ints(nonZeros, 0, WIDE).distinct().sorted().toArray();
            indices[0] = 11; // Feature 11 shows up in most rows, with its own spread.
            indices = Arrays.stream(indices).distinct().sorted().toArray();
            double[] values = new double[indices.length];
            for (int k = 0; k < values.length; k++) {
                values[k] = random.nextInt(5) == 0 ? -3.0 : 1e3 + random.nextDouble();
            }
            double weight = random.nextInt(4) == 0 ? 0.5 : 1.0;
            for (FastFeatureSummary summary : summaries) {
                summary.addSparse(WIDE, indices, values, indices.length, weight);
            }
        }
    }

    private static FastFeatureSummary touchedOnly() {
        return new FastFeatureSummary();
    }

    private static FastFeatureSummary dense() {
        return FastFeatureSummary.withDenseShare(0.0);
    }

    @Test
    void aTouchedOnlyFitStoresItsTouchedFeaturesAndEqualsTheDenseFitBitForBit() {
        FastFeatureSummary stored = touchedOnly();
        FastFeatureSummary everyFeature = dense();
        fold(3, 400, 20, stored, everyFeature);
        assertTrue(stored.isTouchedOnly());
        assertFalse(everyFeature.isTouchedOnly());
        FeatureStatistics sparse = stored.toStatistics();
        FeatureStatistics full = everyFeature.toStatistics();
        assertFalse(sparse.storesEveryFeature());
        assertTrue(full.storesEveryFeature());
        assertEquals(WIDE, sparse.numFeatures());
        assertEquals(stored.heldFeatures(), sparse.storedFeatureCount());
        assertEquals(full, sparse);
        assertEquals(sparse, full);
        assertEquals(full.hashCode(), sparse.hashCode());
        assertArrayEquals(full.count(), sparse.count());
        assertArrayEquals(full.weightSum(), sparse.weightSum());
        assertArrayEquals(full.weightSquareSum(), sparse.weightSquareSum());
        assertArrayEquals(full.mean(), sparse.mean());
        for (VarianceMode mode : VarianceMode.values()) {
            assertArrayEquals(full.variance(mode), sparse.variance(mode), mode.toString());
        }
        // The rule: an untouched feature has every row's count and weight, mean 0 and variance 0.
        int untouched = firstUntouched(sparse.storedFeatures());
        assertEquals(sparse.rowCount(), full.count()[untouched]);
        assertEquals(sparse.implicitWeightSum(), full.weightSum()[untouched]);
        assertEquals(0.0, full.mean()[untouched]);
        assertTrue(sparse.implicitWeightSum() > 0.0 && sparse.implicitWeightSum() < sparse.rowCount(),
                "weighted rows: " + sparse.implicitWeightSum());
    }

    private static int firstUntouched(int[] stored) {
        for (int j = 0; ; j++) {
            if (Arrays.binarySearch(stored, j) < 0) {
                return j;
            }
        }
    }

    @Test
    void mergesAndMovingAveragesOfStoredStatisticsStayStoredAndEqualTheDenseOnesBitForBit() {
        FastFeatureSummary storedA = touchedOnly();
        FastFeatureSummary denseA = dense();
        fold(5, 300, 20, storedA, denseA);
        FastFeatureSummary storedB = touchedOnly();
        FastFeatureSummary denseB = dense();
        fold(6, 200, 15, storedB, denseB);
        FeatureStatistics a = storedA.toStatistics();
        FeatureStatistics b = storedB.toStatistics();

        FeatureStatistics merged = a.merge(b);
        FeatureStatistics denseMerged = denseA.toStatistics().merge(denseB.toStatistics());
        assertFalse(merged.storesEveryFeature());
        assertArrayEquals(FeatureStatistics.union(a.storedFeatures(), b.storedFeatures()), merged.storedFeatures());
        assertEquals(denseMerged, merged);
        assertArrayEquals(denseMerged.mean(), merged.mean());
        assertArrayEquals(denseMerged.variance(VarianceMode.POPULATION), merged.variance(VarianceMode.POPULATION));
        assertEquals(a.implicitWeightSum() + b.implicitWeightSum(), merged.implicitWeightSum());
        // Merging a summary into stored statistics (a model's update) takes the same path.
        assertEquals(denseB.mergeInto(denseA.toStatistics()), storedB.mergeInto(a));
        // A dense side makes the result dense, with the same numbers.
        FeatureStatistics mixed = denseA.toStatistics().merge(b);
        assertTrue(mixed.storesEveryFeature());
        assertEquals(denseMerged, mixed);

        for (VarianceMode mode : VarianceMode.values()) {
            FeatureStatistics moved = a.movingAverage(b, 0.9, mode);
            FeatureStatistics denseMoved = denseA.toStatistics().movingAverage(denseB.toStatistics(), 0.9, mode);
            assertFalse(moved.storesEveryFeature());
            assertFalse(moved.isExact());
            assertEquals(denseMoved, moved, mode.toString());
            assertArrayEquals(denseMoved.variance(mode), moved.variance(mode), mode.toString());
            assertEquals(denseB.movingAverageInto(denseMoved, 0.5, mode), storedB.movingAverageInto(moved, 0.5, mode));
        }
    }

    @Test
    void perFeatureArraysAreRefusedWithAClearMessageWhenTheyCannotBeBuilt() {
        int huge = Integer.MAX_VALUE - 1;
        FeatureStatistics statistics = FeatureStatistics.stored(4, huge, new int[] {9, huge - 1}, new long[] {4, 4},
                new double[] {4, 4}, new double[] {4, 4}, new double[] {1.5, -2}, new double[] {0.25, 1}, 4.0, 4.0);
        assertEquals(huge, statistics.numFeatures());
        assertArrayEquals(new double[] {1.5, -2}, statistics.storedMean());
        IllegalStateException error = assertThrows(IllegalStateException.class, statistics::mean);
        assertTrue(error.getMessage().contains("the per-feature means of all 2,147,483,646 features")
                && error.getMessage().contains("read the stored features"), error.getMessage());
        AffineCoefficients coefficients = AffineCoefficients.ofStored(huge, statistics.storedFeatures(),
                statistics.storedMean(), statistics.storedVariance(VarianceMode.POPULATION), 0.0, true, true);
        assertThrows(IllegalStateException.class, coefficients::scale);
        // A row at the far end of the dimension maps at the cost of its entries: mean 1.5, scale 1 / 0.5 = 2.
        AffineCoefficients.SparseRow row = coefficients.mapSparse(new int[] {9, 100}, new double[] {2.5, 7.0}, false);
        // Feature 9: (2.5 - 1.5) * 2 = 2; feature 100 (implicit, epsilon 0: scale 0) maps to 0; feature huge - 1
        // (mean -2, scale 1) maps its 0 to 2, so it is listed.
        assertArrayEquals(new int[] {9, 100, huge - 1}, row.indices());
        assertArrayEquals(new double[] {2.0, 0.0, 2.0}, row.values());
        assertEquals(huge - 2L, coefficients.zeroScaleFeatureCount());
        assertArrayEquals(new int[] {0, 1, 2}, coefficients.zeroScaleFeatures(3));
    }

    @Test
    void badStoredFeaturesAndImplicitWeightsAreNamed() {
        IllegalArgumentException unsorted = assertThrows(IllegalArgumentException.class,
                () -> FeatureStatistics.stored(2, 10, new int[] {4, 3}, new long[] {2, 2}, new double[] {2, 2},
                        new double[] {2, 2}, new double[] {1, 1}, new double[] {0, 0}, 2.0, 2.0));
        assertEquals("storedFeatures must be increasing feature indices in [0, 10), but entry 1 is 3 after 4",
                unsorted.getMessage());
        IllegalArgumentException outside = assertThrows(IllegalArgumentException.class,
                () -> FeatureStatistics.stored(2, 10, new int[] {10}, new long[] {2}, new double[] {2},
                        new double[] {2}, new double[] {1}, new double[] {0}, 2.0, 2.0));
        assertEquals("storedFeatures must be increasing feature indices in [0, 10), but entry 0 is 10",
                outside.getMessage());
        IllegalArgumentException weightless = assertThrows(IllegalArgumentException.class,
                () -> FeatureStatistics.stored(2, 10, new int[] {1}, new long[] {2}, new double[] {2},
                        new double[] {2}, new double[] {1}, new double[] {0}, 0.0, 2.0));
        assertEquals("the implicit features' weight must be finite and > 0 (it is every row's), but it is 0.0 (squared"
                + " weight 2.0)", weightless.getMessage());
    }

    @Test
    void storedCoefficientsMapEveryRowAsCoefficientsOfEveryFeatureDo() {
        FastFeatureSummary summary = touchedOnly();
        fold(9, 100, 10, summary);
        FeatureStatistics statistics = summary.toStatistics();
        double[] noParam = new double[0];
        SplittableRandom random = new SplittableRandom(10);
        for (boolean centering : new boolean[] {true, false}) {
            for (boolean scaling : new boolean[] {true, false}) {
                AffineCoefficients stored = AffineCoefficients.ofStored(WIDE, statistics.storedFeatures(),
                        statistics.storedMean(), statistics.storedVariance(VarianceMode.POPULATION), 1e-3, centering,
                        scaling);
                AffineCoefficients every = AffineCoefficients.of(statistics.mean(),
                        statistics.variance(VarianceMode.POPULATION), noParam, noParam, 1e-3, centering, scaling);
                String label = "centering " + centering + ", scaling " + scaling;
                assertArrayEquals(every.mean(), stored.mean(), label);
                assertArrayEquals(every.scale(), stored.scale(), label);
                assertArrayEquals(every.beta(), stored.beta(), label);
                int[] stored5 = Arrays.copyOf(statistics.storedFeatures(), 5);
                int[] indices = java.util.stream.IntStream.concat(Arrays.stream(stored5),
                        random.ints(5, 0, WIDE)).distinct().sorted().toArray();
                double[] values = random.doubles(indices.length, -5, 1005).toArray();
                for (boolean inverse : new boolean[] {false, true}) {
                    double[] expected = new double[WIDE];
                    double[] actual = new double[WIDE];
                    if (inverse) {
                        every.invertSparseToDense(indices, values, expected);
                        stored.invertSparseToDense(indices, values, actual);
                    } else {
                        every.applySparseToDense(indices, values, expected);
                        stored.applySparseToDense(indices, values, actual);
                    }
                    assertArrayEquals(expected, actual, label + ", inverse " + inverse);
                    AffineCoefficients.SparseRow row = stored.mapSparse(indices, values, inverse);
                    double[] spread = new double[WIDE];
                    for (int k = 0; k < row.indices().length; k++) {
                        spread[row.indices()[k]] = row.values()[k];
                    }
                    assertArrayEquals(expected, spread, label + ", inverse " + inverse + ", kept sparse");
                    double[] denseRow = new double[WIDE];
                    for (int k = 0; k < indices.length; k++) {
                        denseRow[indices[k]] = values[k];
                    }
                    double[] expectedDense = new double[WIDE];
                    double[] actualDense = new double[WIDE];
                    if (inverse) {
                        every.invertDense(denseRow, expectedDense);
                        stored.invertDense(denseRow, actualDense);
                    } else {
                        every.applyDense(denseRow, expectedDense);
                        stored.applyDense(denseRow, actualDense);
                    }
                    assertArrayEquals(expectedDense, actualDense, label + ", inverse " + inverse + ", dense row");
                }
                if (!centering) {
                    assertEquals(indices.length, stored.mapSparse(indices, values, false).indices().length,
                            "without centering the row keeps its entries: " + label);
                }
            }
        }
    }
}
