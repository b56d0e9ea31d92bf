package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.ExactReference;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
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
        // Dense rows of weight 1 wait in a buffer, so a non-finite value is reported when their block is added: at the
        // latest when the summary is read, merged or serialised.
        assertEquals("feature 1 has a non-finite value NaN", assertThrows(IllegalArgumentException.class,
                () -> summary.add(new double[] {1, Double.NaN}, 1.0).toStatistics()).getMessage());
        assertEquals("feature 0 has a non-finite value Infinity", assertThrows(IllegalArgumentException.class,
                () -> new ExactFeatureSummary().add(new double[] {Double.POSITIVE_INFINITY}, 2.0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> summary.add(new double[] {1, 2}, -1.0));
        assertThrows(IllegalStateException.class, () -> new ExactFeatureSummary().toStatistics());
        NonFiniteStatisticException overflow = assertThrows(NonFiniteStatisticException.class,
                () -> new ExactFeatureSummary().add(new double[] {1e300}, 1).add(new double[] {-1e300}, 1).toStatistics());
        assertEquals(0, overflow.feature());
    }

    /**
     * Columns that break naive sums, and the fast path's grids: a 1e12 offset, magnitudes from 1e-8 to 1e8, cancellation
     * at 1e15, subnormals (and zeros), magnitudes 1e-150 to 1e150 within one block, values at 1e300 whose squares
     * overflow a double, and a column of zeros.
     */
    private static double[][] adversarialRows(long seed, int n) {
        SplittableRandom random = new SplittableRandom(seed);
        double[][] rows = new double[n][7];
        for (double[] row : rows) {
            row[0] = 1e12 + Data.gaussian(random);
            row[1] = (random.nextBoolean() ? 1 : -1) * Math.pow(10, random.nextDouble(-8, 8));
            row[2] = 1e15 + Data.gaussian(random);
            row[3] = random.nextInt(10) == 0 ? 0.0 : Double.MIN_VALUE * random.nextInt(1, 1 << 20);
            row[4] = (random.nextBoolean() ? 1e-150 : 1e150) * random.nextDouble();
            row[5] = 1e300;
            row[6] = 0.0;
        }
        return rows;
    }

    private static int[] nonZeroIndices(double[] row) {
        return java.util.stream.IntStream.range(0, row.length).filter(j -> row[j] != 0.0).toArray();
    }

    @Test
    void everyRowPathGivesTheSameBitsWithinOneUlpOfTheReferenceOnAdversarialData() {
        double[][] rows = adversarialRows(87, 3000);
        ExactFeatureSummary dense = new ExactFeatureSummary();
        ExactFeatureSummary sparse = new ExactFeatureSummary();
        ExactFeatureSummary withMissing = new ExactFeatureSummary();
        ExactFeatureSummary weighted = new ExactFeatureSummary();
        PerValueExactSummary perValue = new PerValueExactSummary();
        for (double[] row : rows) {
            dense.add(row, 1.0);
            int[] indices = nonZeroIndices(row);
            double[] values = java.util.Arrays.stream(indices).mapToDouble(j -> row[j]).toArray();
            sparse.addSparse(row.length, indices, values, indices.length, 1.0);
            withMissing.addWithMissing(row, 1.0);
            // Every weight 2 (a power of two: w*x stays exact in a double): the same mean and population variance.
            weighted.add(row, 2.0);
            perValue.add(row, 1.0);
        }
        FeatureStatistics statistics = dense.toStatistics();
        assertArrayEquals(statistics.mean(), sparse.toStatistics().mean(), "sparse rows");
        assertArrayEquals(statistics.variance(VarianceMode.POPULATION), sparse.toStatistics().variance(VarianceMode.POPULATION));
        assertEquals(statistics, withMissing.toStatistics(), "rows with missing values (none)");
        assertArrayEquals(statistics.mean(), weighted.toStatistics().mean(), "weighted rows");
        assertArrayEquals(statistics.variance(VarianceMode.POPULATION),
                weighted.toStatistics().variance(VarianceMode.POPULATION), "weighted rows");
        assertEquals(statistics, perValue.toStatistics(), "the per-value superaccumulator");

        ExactReference reference = ExactReference.of(rows);
        for (int j = 0; j < 7; j++) {
            assertCorrectlyRounded(reference.mean(j), statistics.mean()[j], "mean " + j);
            assertCorrectlyRounded(reference.populationVariance(j), statistics.variance(VarianceMode.POPULATION)[j],
                    "variance " + j);
        }
        assertEquals(1e300, statistics.mean()[5]);
        assertEquals(0.0, statistics.variance(VarianceMode.POPULATION)[5]);
    }

    @Test
    void theSameRowsSplitAndMergedAnyWayGiveTheSameBitsOnAdversarialData() {
        List<double[]> rows = List.of(adversarialRows(88, 2000));
        List<Double> weights = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            weights.add(1.0);
        }
        FeatureStatistics whole = summarise(rows, weights, 1, 1);
        for (int parts : new int[] {2, 7, 64}) {
            assertEquals(whole, summarise(rows, weights, parts, parts), parts + " parts");
        }
    }

    @Test
    void squaresOfValuesNear1e300OverflowIntoAClearError() {
        ExactFeatureSummary summary = new ExactFeatureSummary();
        SplittableRandom random = new SplittableRandom(89);
        for (int i = 0; i < 300; i++) {
            summary.add(new double[] {1.0 + i, 1e300 * (1 + random.nextDouble())}, 1.0);
        }
        NonFiniteStatisticException error = assertThrows(NonFiniteStatisticException.class, summary::toStatistics);
        assertEquals(1, error.feature());
        assertTrue(error.getMessage().contains("variance"), error.getMessage());
    }

    @Test
    void dekkersProductGivesTheSameSquareErrorAsAFusedMultiplyAdd() {
        SplittableRandom random = new SplittableRandom(90);
        for (int i = 0; i < 100_000; i++) {
            double x = (random.nextBoolean() ? 1 : -1) * Math.scalb(1 + random.nextDouble(), random.nextInt(-400, 300));
            double p = x * x;
            assertEquals(Math.fma(x, x, -p), FmaSupport.squareError(x, p), "x = " + x);
        }
    }

    private static byte[] serialise(Object value) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        }
        return bytes.toByteArray();
    }

    private static ExactFeatureSummary deserialise(byte[] bytes) throws IOException, ClassNotFoundException {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            return (ExactFeatureSummary) in.readObject();
        }
    }

    @Test
    void aSerialisedSummaryTakesAtMost64BytesPerFeatureAndReadsBackExactly() throws Exception {
        // Shaped like jobs/benchmark's dense and sparse data; a partition of 25,000 rows.
        SplittableRandom random = new SplittableRandom(91);
        ExactFeatureSummary dense = new ExactFeatureSummary();
        ExactFeatureSummary sparse = new ExactFeatureSummary();
        for (int i = 0; i < 25_000; i++) {
            double[] row = new double[100];
            for (int j = 0; j < 100; j++) {
                row[j] = (j % 10) * 100 + (1 + j % 5) * random.nextDouble();
            }
            dense.add(row, 1.0);
            int[] indices = random.ints(0, 10_000).distinct().limit(100).sorted().toArray();
            double[] values = java.util.Arrays.stream(indices).mapToDouble(j -> 1 + j % 7 + random.nextDouble()).toArray();
            sparse.addSparse(10_000, indices, values, indices.length, 1.0);
        }
        byte[] denseBytes = serialise(dense);
        byte[] sparseBytes = serialise(sparse);
        assertTrue(denseBytes.length <= 64 * 100, denseBytes.length / 100.0 + " bytes per dense feature");
        assertTrue(sparseBytes.length <= 64 * 10_000, sparseBytes.length / 10_000.0 + " bytes per sparse feature");
        assertEquals(dense.toStatistics(), deserialise(denseBytes).toStatistics());
        assertEquals(sparse.toStatistics(), deserialise(sparseBytes).toStatistics());
        // A summary serialised with open blocks and buffered rows, then merged, counts every row exactly once.
        ExactFeatureSummary first = new ExactFeatureSummary().add(new double[] {1, 2}, 1.0).add(new double[] {3, 5}, 1.0);
        ExactFeatureSummary second = new ExactFeatureSummary().addSparse(2, new int[] {1}, new double[] {7}, 1, 1.0);
        FeatureStatistics merged = deserialise(serialise(first)).merge(deserialise(serialise(second))).toStatistics();
        assertArrayEquals(new double[] {4.0 / 3, 14.0 / 3}, merged.mean());
        assertEquals(3, merged.rowCount());
    }

    @Test
    void theDoubleDoubleFinalisationRoundsExactlyAsTheBigIntegerArithmeticDoes() {
        // Random sums with offsets from 0 to 1e9 times the spread (up to the cancellation where the fast path gives up),
        // magnitudes from 1e-30 to 1e30 and 1 to 2,000 values: whenever the double-double path answers, its mean and
        // variance are the bits the exact arithmetic rounds to.
        SplittableRandom random = new SplittableRandom(92);
        double[] sum1 = new double[2];
        double[] sum2 = new double[2];
        double[] rounded = new double[2];
        int answered = 0;
        int cases = 20_000;
        for (int c = 0; c < cases; c++) {
            double scale = Math.pow(10, random.nextDouble(-30, 30));
            double offset = scale * (random.nextBoolean() ? 0 : Math.pow(10, random.nextDouble(-3, 9)));
            int n = random.nextInt(1, 2000);
            ExactSum s1 = new ExactSum();
            ExactSum s2 = new ExactSum();
            for (int i = 0; i < n; i++) {
                double x = offset + scale * Data.gaussian(random);
                s1.add(x);
                s2.addSquare(x);
            }
            ExactValue w = ExactValue.of(n);
            ExactValue e1 = s1.value();
            ExactValue e2 = s2.value();
            double mean = e1.divideToDouble(w);
            double variance = w.multiply(e2).subtract(e1.multiply(e1)).divideToDouble(w.multiply(w));
            if (s1.toDoubleDouble(sum1) && s2.toDoubleDouble(sum2)
                    && ExactFeatureSummary.roundedMoments(n, sum1, sum2, rounded)) {
                answered++;
                assertEquals(mean, rounded[0], "mean, case " + c);
                assertEquals(variance, rounded[1], "variance, case " + c);
            }
        }
        assertTrue(answered > cases / 2, "the double-double path answered only " + answered + " of " + cases);
    }

    /** Sparse rows of the given rows' non-zeros, added to {@code summary}. */
    private static ExactFeatureSummary addSparse(ExactFeatureSummary summary, double[][] rows, int from, int to) {
        for (int i = from; i < to; i++) {
            double[] row = rows[i];
            int[] indices = nonZeroIndices(row);
            double[] values = java.util.Arrays.stream(indices).mapToDouble(j -> row[j]).toArray();
            summary.addSparse(row.length, indices, values, indices.length, 1.0 + i % 3);
        }
        return summary;
    }

    /**
     * Same counts, weights, means and variances, bit for bit, whichever features each stores ({@code equals} compares
     * the bits); the per-feature arrays are compared too where they are small.
     */
    private static void assertSameBits(FeatureStatistics expected, FeatureStatistics actual, String what) {
        assertEquals(expected, actual, what);
        if (expected.numFeatures() > 4096) {
            return;
        }
        assertArrayEquals(expected.mean(), actual.mean(), what + ": means");
        assertArrayEquals(expected.variance(VarianceMode.POPULATION), actual.variance(VarianceMode.POPULATION),
                what + ": variances");
        assertArrayEquals(expected.weightSum(), actual.weightSum(), what + ": weights");
        assertArrayEquals(expected.count(), actual.count(), what + ": counts");
    }

    /**
     * Sparse rows of 4 features, {@code n} rows of the piece: features 0 and 2 take values in [1, 2) and (-4, -3] in
     * every piece, feature 1 in [1, 2) in even pieces and in [100, 200) in odd ones (another block bound), feature 3
     * only in piece 2. With 100, 120 and 200 rows, pieces 0 and 1 fit in one block together, pieces 1 and 2 do not.
     */
    private static double[][] blockRows(int piece, int n) {
        SplittableRandom random = new SplittableRandom(90 + piece);
        double[][] rows = new double[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = new double[] {1 + random.nextDouble(), (piece % 2 == 0 ? 1 : 100) * (1 + random.nextDouble()),
                    -3 - random.nextDouble(), piece == 2 ? 0.25 + random.nextDouble() : 0.0};
        }
        return rows;
    }

    private static final int[] BLOCK_PIECE_ROWS = {100, 120, 200};

    @Test
    void openBlocksMergeAsBlocksWhereTheyCanAndGiveTheBitsOfOnePassAndTheCorrectlyRoundedStatistics() {
        int pieces = 3;
        List<double[]> all = new ArrayList<>();
        ExactFeatureSummary onePass = new ExactFeatureSummary();
        List<ExactFeatureSummary> summaries = new ArrayList<>();
        for (int p = 0; p < pieces; p++) {
            ExactFeatureSummary summary = new ExactFeatureSummary();
            for (double[] row : blockRows(p, BLOCK_PIECE_ROWS[p])) {
                all.add(row);
                for (ExactFeatureSummary into : List.of(summary, onePass)) {
                    into.addSparse(4, new int[] {0, 1, 2, 3}, row, 4, 1.0);
                }
            }
            summaries.add(summary);
        }
        FeatureStatistics expected = onePass.toStatistics();
        ExactReference reference = ExactReference.of(all.toArray(new double[0][]));
        for (int j = 0; j < 4; j++) {
            assertCorrectlyRounded(reference.mean(j), expected.mean()[j], "feature " + j + ", mean");
            assertCorrectlyRounded(reference.populationVariance(j), expected.variance(VarianceMode.POPULATION)[j],
                    "feature " + j + ", variance");
        }
        // Open blocks taken over (into an empty summary and into a feature not seen yet), added level by level (the
        // same bound, at most 256 values), and given up for the exact sums (another bound, or too many values).
        for (int[] order : new int[][] {{0, 1, 2}, {2, 1, 0}, {1, 0, 2}}) {
            ExactFeatureSummary merged = new ExactFeatureSummary();
            for (int p : order) {
                merged.merge(summaries.get(p));
            }
            assertSameBits(expected, merged.toStatistics(), "merged in the order " + java.util.Arrays.toString(order));
            ExactFeatureSummary nested = new ExactFeatureSummary().merge(summaries.get(order[0]));
            nested.merge(new ExactFeatureSummary().merge(summaries.get(order[1])).merge(summaries.get(order[2])));
            assertSameBits(expected, nested.toStatistics(), "nested in the order " + java.util.Arrays.toString(order));
        }
        for (int p = 0; p < pieces; p++) {
            ExactFeatureSummary alone = new ExactFeatureSummary();
            for (double[] row : blockRows(p, BLOCK_PIECE_ROWS[p])) {
                alone.addSparse(4, new int[] {0, 1, 2, 3}, row, 4, 1.0);
            }
            assertSameBits(alone.toStatistics(), summaries.get(p).toStatistics(), "piece " + p + " after the merges");
        }
    }

    @Test
    void aWideSparseSummaryHoldsOnlyTheFeaturesItTouchedAndGivesTheCorrectlyRoundedStatistics() {
        int wide = 1 << 24;
        // Rows 0..99 each touch 3 features of 2^24: 7 (1, 2, 3, ...), 2^24 - 1 (always 5) and one of 40 others (-2).
        ExactFeatureSummary summary = new ExactFeatureSummary();
        for (int i = 0; i < 100; i++) {
            int other = 1000 + 4099 * (i % 40);
            summary.addSparse(wide, new int[] {7, other, wide - 1}, new double[] {i + 1, -2.0, 5.0}, 3, 1.0);
        }
        assertTrue(summary.isTouchedOnly());
        assertEquals(42, summary.heldFeatures());
        FeatureStatistics.Moments stored = summary.moments();
        assertEquals(42, stored.storedFeatures.length);
        assertEquals(7, stored.storedFeatures[0]);
        assertEquals(1000, stored.storedFeatures[1]);
        assertEquals(wide - 1, stored.storedFeatures[41]);
        assertEquals(100.0, stored.implicitWeightSum);
        FeatureStatistics.Moments moments = stored.alignTo(null);
        // Correctly rounded closed forms: 1..100 has mean 50.5 and population variance (100^2 - 1) / 12 = 833.25.
        assertEquals(50.5, moments.mean[7]);
        assertEquals(833.25, moments.variance[7]);
        assertEquals(5.0, moments.mean[wide - 1]);
        assertEquals(0.0, moments.variance[wide - 1]);
        // -2 in 3 of 100 rows (i % 40 < 20): mean -0.06, variance 4 * 0.03 - 0.06^2 = 0.1164; in 2 rows -0.04, 0.0784.
        assertEquals(-0.06, moments.mean[1000]);
        assertEquals(0.1164, moments.variance[1000]);
        assertEquals(-0.04, moments.mean[1000 + 4099 * 20]);
        assertEquals(0.0784, moments.variance[1000 + 4099 * 20]);
        assertEquals(0.0, moments.mean[8]);
        assertEquals(0.0, moments.variance[8]);
        assertEquals(100, moments.count[8], "an untouched feature saw a zero in every row");
        assertEquals(100.0, moments.weightSum[8]);
    }

    @Test
    void theTouchedOnlyFormSwitchesToDenseJustAboveAQuarterOfTheFeaturesAndNeverShowsInTheBits() {
        int features = 64;
        int limit = features / FastFeatureSummary.DENSE_FROM_SHARE;
        ExactFeatureSummary summary = ExactFeatureSummary.withDenseShare(1.0 / FastFeatureSummary.DENSE_FROM_SHARE);
        ExactFeatureSummary dense = ExactFeatureSummary.withDenseShare(0.0);
        for (int j = 0; j < limit; j++) {
            summary.addSparse(features, new int[] {j}, new double[] {j + 0.1}, 1, 1.0);
            dense.addSparse(features, new int[] {j}, new double[] {j + 0.1}, 1, 1.0);
        }
        assertTrue(summary.isTouchedOnly(), "at the limit");
        assertFalse(dense.isTouchedOnly(), "a share of 0 is dense from the first row");
        assertEquals(limit, summary.heldFeatures());
        assertSameBits(dense.toStatistics(), summary.toStatistics(), "touched-only at the limit against dense");
        summary.addSparse(features, new int[] {0, 3}, new double[] {2.0, 0.0}, 2, 1.0);
        dense.addSparse(features, new int[] {0, 3}, new double[] {2.0, 0.0}, 2, 1.0);
        assertTrue(summary.isTouchedOnly(), "touching held features again adds none");
        summary.addSparseWithMissing(features, new int[] {limit - 1, limit}, new double[] {Double.NaN, 0.0}, 2, 2.0);
        dense.addSparseWithMissing(features, new int[] {limit - 1, limit}, new double[] {Double.NaN, 0.0}, 2, 2.0);
        assertTrue(summary.isTouchedOnly(), "a missing value touches a held feature, a stored zero none");
        summary.addSparse(features, new int[] {limit}, new double[] {1.0}, 1, 1.0);
        dense.addSparse(features, new int[] {limit}, new double[] {1.0}, 1, 1.0);
        assertFalse(summary.isTouchedOnly(), "one above the limit");
        assertEquals(features, summary.heldFeatures());
        assertSameBits(dense.toStatistics(), summary.toStatistics(), "switched to dense against dense throughout");

        ExactFeatureSummary denseRow = ExactFeatureSummary.withDenseShare(1.0)
                .addSparse(features, new int[] {1}, new double[] {1.0}, 1, 1.0);
        assertTrue(denseRow.isTouchedOnly());
        denseRow.add(new double[features], 1.0);
        assertFalse(denseRow.isTouchedOnly(), "a dense row makes the summary dense");
    }

    @Test
    void aSummaryOfAtMostTwoToTheTwentyFeaturesIsDenseFromItsFirstSparseRowAndAWiderOneTouchedOnly() {
        int limit = FastFeatureSummary.DENSE_FROM_START_UP_TO;
        assertEquals(1 << 20, limit);
        ExactFeatureSummary atLimit = new ExactFeatureSummary()
                .addSparse(limit, new int[] {5}, new double[] {2.0}, 1, 1.0);
        assertFalse(atLimit.isTouchedOnly(), "2^20 features");
        assertEquals(limit, atLimit.heldFeatures());
        ExactFeatureSummary wider = new ExactFeatureSummary()
                .addSparse(limit + 1, new int[] {5}, new double[] {2.0}, 1, 1.0);
        assertTrue(wider.isTouchedOnly(), "2^20 + 1 features");
        assertEquals(1, wider.heldFeatures());
    }

    @Test
    void touchedOnlyAndDensePiecesMergeInEitherOrderToTheBitsOfOneDensePass() {
        double[][] rows = adversarialRows(31, 600);
        // Wider rows, mostly zeros, so the sparse pieces touch a few of 512 features: the adversarial columns spread out.
        double[][] wide = new double[rows.length][512];
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < rows[i].length; j++) {
                if ((i + j) % 5 == 0) {
                    wide[i][(j * 73 + i % 4) % 512] = rows[i][j] == 1e300 ? 3.0 : rows[i][j];
                }
            }
        }
        FeatureStatistics expected = addSparse(ExactFeatureSummary.withDenseShare(0.0), wide, 0, 600).toStatistics();
        ExactFeatureSummary first = addSparse(ExactFeatureSummary.withDenseShare(1.0), wide, 0, 200);
        ExactFeatureSummary second = addSparse(ExactFeatureSummary.withDenseShare(0.0), wide, 200, 400);
        ExactFeatureSummary third = addSparse(ExactFeatureSummary.withDenseShare(1.0), wide, 400, 600);
        assertTrue(first.isTouchedOnly() && third.isTouchedOnly() && !second.isTouchedOnly());
        assertTrue(first.heldFeatures() < 512 / 4, first.heldFeatures() + " features touched");
        assertSameBits(expected, copy(first).merge(second).merge(third).toStatistics(), "touched, dense, touched");
        assertSameBits(expected, copy(second).merge(third).merge(first).toStatistics(), "dense, touched, touched");
        ExactFeatureSummary touchedPair = copy(third).merge(first);
        assertTrue(touchedPair.isTouchedOnly(), "two touched-only pieces merge into a touched-only one");
        assertSameBits(expected, touchedPair.merge(second).toStatistics(), "touched, touched, dense");
        assertSameBits(expected, new ExactFeatureSummary().merge(first).merge(third).merge(second).toStatistics(),
                "into an empty summary");
    }

    private static ExactFeatureSummary copy(ExactFeatureSummary summary) {
        return ExactFeatureSummary.fromBytes(summary.toBytes());
    }

    @Test
    void aTouchedOnlySummaryTravelsSerialisedInAFewDozenBytesPerTouchedFeatureAndGoesOnAsBefore() throws Exception {
        int wide = 1 << 22;
        SplittableRandom random = new SplittableRandom(5);
        ExactFeatureSummary summary = new ExactFeatureSummary();
        for (int i = 0; i < 1000; i++) {
            int[] indices = random.ints(0, wide).distinct().limit(20).sorted().toArray();
            summary.addSparse(wide, indices, random.doubles(20, -3, 7).toArray(), 20, 1.0);
        }
        summary.addSparseWithMissing(wide, new int[] {12, wide - 3}, new double[] {Double.NaN, 1.5}, 2, 0.5);
        byte[] bytes = serialise(summary);
        int touched = summary.heldFeatures();
        assertTrue(bytes.length < 64L * touched + 1000, bytes.length + " bytes for " + touched + " touched features");
        ExactFeatureSummary copy = deserialise(bytes);
        assertTrue(copy.isTouchedOnly());
        assertEquals(touched, copy.heldFeatures());
        for (int i = 0; i < 200; i++) {
            int[] indices = random.ints(0, 64).distinct().limit(5).sorted().toArray();
            double[] values = random.doubles(5, -1, 1).toArray();
            summary.addSparse(wide, indices, values, 5, 1.0);
            copy.addSparse(wide, indices, values, 5, 1.0);
        }
        FeatureStatistics expected = summary.toStatistics();
        assertSameBits(expected, copy.toStatistics(), "serialised and read back");
        int stored12 = java.util.Arrays.binarySearch(expected.storedFeatures(), 12);
        assertEquals(1000 + 1 + 200 - 1, expected.storedCount()[stored12],
                "the missing value is left out of its feature only");
    }

    @Test
    void aTouchedOnlySummaryReadBackByKryoMergesIntoAnEmptyOneToTheSameBits() {
        // Kryo, which Spark may be configured to ship summaries with, skips transient fields: the feature table of a
        // touched-only summary arrives empty, and an empty summary merged into copies it.
        int wide = 1 << 22;
        SplittableRandom random = new SplittableRandom(95);
        ExactFeatureSummary summary = new ExactFeatureSummary();
        for (int r = 0; r < 500; r++) {
            int[] indices = random.ints(0, wide).distinct().limit(5).sorted().toArray();
            summary.addSparse(wide, indices, random.doubles(5, -3, 9).toArray(), 5, r % 3 == 0 ? 0.5 : 1.0);
        }
        assertTrue(summary.isTouchedOnly());
        org.apache.spark.serializer.SerializerInstance kryo =
                new org.apache.spark.serializer.KryoSerializer(new org.apache.spark.SparkConf()).newInstance();
        scala.reflect.ClassTag<ExactFeatureSummary> tag = scala.reflect.ClassTag$.MODULE$.apply(ExactFeatureSummary.class);
        ExactFeatureSummary read = kryo.deserialize(kryo.serialize(summary, tag), tag);
        ExactFeatureSummary merged = new ExactFeatureSummary().merge(read).merge(read);
        ExactFeatureSummary expected = new ExactFeatureSummary().merge(summary).merge(summary);
        assertSameBits(expected.toStatistics(), merged.toStatistics(), "merged twice after Kryo");
    }

    @Test
    void aNonFiniteValueOfAWideSparseRowIsReportedWithItsFeatureIndex() {
        int wide = 1 << 24;
        ExactFeatureSummary summary = new ExactFeatureSummary()
                .addSparse(wide, new int[] {3}, new double[] {1.0}, 1, 1.0);
        assertEquals("feature 12345678 has a non-finite value Infinity", assertThrows(IllegalArgumentException.class,
                () -> summary.addSparse(wide, new int[] {12345678}, new double[] {Double.POSITIVE_INFINITY}, 1, 1.0))
                .getMessage());
        assertEquals("feature 9999999 has a non-finite value NaN", assertThrows(IllegalArgumentException.class,
                () -> summary.addSparse(wide, new int[] {9999999}, new double[] {Double.NaN}, 1, 2.0)).getMessage());
    }
}
