package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
