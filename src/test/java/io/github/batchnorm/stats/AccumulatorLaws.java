package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.MergePlan;
import io.github.batchnorm.testing.RowSequence;
import io.github.batchnorm.testing.RowSequence.FeatureKind;
import io.github.batchnorm.testing.RowSequence.PathMix;
import io.github.batchnorm.testing.RowSequence.WeightMix;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * The laws every {@link FeatureAccumulator} obeys, as properties over generated rows; a subclass per accumulator says what
 * "the same statistics" means for it (bit for bit, or within a bound).
 *
 * <p>The rows ({@link RowSequence}) reach the accumulator through all four add paths, alone and mixed, with weights of
 * 1, small integers, fractions and 0; features have large offsets with small spreads, mixed signs and magnitudes from 1e-8
 * to 1e8, constants and small integers; sequences run from 0 rows to 800, many of them around and across the fast
 * accumulator's 256-row block. The cuts ({@link MergePlan}) fall anywhere, or right at and around multiples of 256, and
 * the pieces are merged in shuffled order, in random tree shapes.
 *
 * <p>Every property has a fixed {@code seed} in its {@code @Property}, so a run generates the same rows every time and a
 * failure is reproduced by running the test again; jqwik prints the failing sample's spec and merge plan, which rebuild
 * the rows on their own.
 */
abstract class AccumulatorLaws<A extends FeatureAccumulator> {
    /** Tries of the laws that compare numbers, which rounding could break in many ways. */
    static final int TRIES = 1000;
    /** Tries of the identity and of the untouched argument: exact, structural laws that cost several passes a try. */
    static final int STRUCTURAL_TRIES = 500;
    /** Fewer: the BigDecimal reference costs several times a law's try. */
    static final int REFERENCE_TRIES = 300;

    /** A new, empty accumulator of the kind under test. */
    abstract A empty();

    /**
     * Asserts that two outcomes are the same statistics in this accumulator's sense: the same failure, or statistics
     * equal bit for bit (exact) or within the stated bound (fast).
     */
    abstract void assertSameStatistics(RowSequence rows, Outcome expected, Outcome actual, String what);

    /** Asserts that one pass over the rows gives their exact statistics, within this accumulator's accuracy. */
    abstract void assertMatchesReference(RowSequence rows, ExactReference reference, FeatureStatistics actual, String what);

    /** What {@code toStatistics()} gave: statistics, or the failure's type and message. */
    record Outcome(FeatureStatistics statistics, String failure) {
        static Outcome of(FeatureAccumulator accumulator) {
            try {
                return new Outcome(accumulator.toStatistics(), null);
            } catch (IllegalStateException | IllegalArgumentException e) {
                return new Outcome(null, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }

        @Override
        public String toString() {
            return failure != null ? failure : statistics + " mean bits " + bits(statistics.mean()) + ", variance bits "
                    + bits(statistics.variance(VarianceMode.POPULATION));
        }
    }

    /** Raw bits in hex, so that an assertion message shows where two doubles part. */
    static String bits(double[] values) {
        return Arrays.stream(values).mapToObj(v -> Long.toHexString(Double.doubleToRawLongBits(v)))
                .toList().toString();
    }

    /** The rows and a way to cut and merge them. */
    record Split(RowSequence rows, MergePlan plan) {
        @Override
        public String toString() {
            return rows + " " + plan;
        }
    }

    A onePass(RowSequence rows) {
        return rows.addTo(empty(), 0, rows.size());
    }

    A piece(RowSequence rows, int from, int to) {
        return rows.addTo(empty(), from, to);
    }

    @Property(tries = STRUCTURAL_TRIES, seed = "7001")
    void anEmptyAccumulatorIsAnIdentityForMergeOnBothSides(@ForAll("sequences") RowSequence rows) {
        Outcome alone = Outcome.of(onePass(rows));

        A empty = empty();
        FeatureAccumulator emptyFirst = empty.merge(onePass(rows));
        assertSame(empty, emptyFirst, "merge returns its receiver");
        assertEquals(alone, Outcome.of(emptyFirst), "empty.merge(a)");

        A a = onePass(rows);
        assertSame(a, a.merge(empty()), "merge returns its receiver");
        assertEquals(alone, Outcome.of(a), "a.merge(empty)");

        // Rows of weight zero are ignored, so an accumulator that saw only such rows is empty too, though it has a dimension.
        double[] zeros = new double[rows.dimension()];
        assertEquals(alone, Outcome.of(empty().add(zeros, 0.0).merge(onePass(rows))), "weightless.merge(a)");
        assertEquals(alone, Outcome.of(onePass(rows).merge(empty().add(zeros, 0.0))), "a.merge(weightless)");
        assertEquals(-1, empty().merge(empty()).dimension(), "empty.merge(empty) has no dimension yet");
    }

    @Property(tries = STRUCTURAL_TRIES, seed = "7002")
    void mergeNeverChangesItsArgument(@ForAll("splits") Split split) {
        RowSequence rows = split.rows();
        MergePlan plan = split.plan();
        A receiver = piece(rows, plan.start(0), plan.end(0));
        for (int p = 1; p < plan.pieces(); p++) {
            A argument = piece(rows, plan.start(p), plan.end(p));
            // Serialised, the argument's whole state is compared, field by field, not only what toStatistics() shows.
            byte[] before = serialized(argument);
            receiver.merge(argument);
            assertArrayEquals(before, serialized(argument), "the state of piece " + p + " after it was merged");
            assertEquals(Outcome.of(piece(rows, plan.start(p), plan.end(p))), Outcome.of(argument),
                    "the statistics of piece " + p + " after it was merged");
        }
    }

    @Property(tries = TRIES, seed = "7003")
    void mergeIsCommutative(@ForAll("splits") Split split) {
        RowSequence rows = split.rows();
        int cut = split.plan().end(0);
        int n = rows.size();
        assertSameStatistics(rows, Outcome.of(piece(rows, 0, cut).merge(piece(rows, cut, n))),
                Outcome.of(piece(rows, cut, n).merge(piece(rows, 0, cut))), "a.merge(b) against b.merge(a)");
    }

    @Property(tries = TRIES, seed = "7004")
    void mergeIsAssociative(@ForAll("splits") Split split) {
        RowSequence rows = split.rows();
        int first = split.plan().end(0);
        int second = split.plan().pieces() > 2 ? split.plan().end(1) : rows.size();
        int n = rows.size();
        FeatureAccumulator leftFirst = piece(rows, 0, first).merge(piece(rows, first, second))
                .merge(piece(rows, second, n));
        FeatureAccumulator rightFirst = piece(rows, 0, first).merge(piece(rows, first, second)
                .merge(piece(rows, second, n)));
        assertSameStatistics(rows, Outcome.of(leftFirst), Outcome.of(rightFirst), "(a.merge(b)).merge(c) against"
                + " a.merge(b.merge(c))");
    }

    @Property(tries = TRIES, seed = "7005")
    void splittingTheRowsAnywhereAndMergingThePiecesInAnyTreeEqualsOnePass(@ForAll("splits") Split split) {
        RowSequence rows = split.rows();
        MergePlan plan = split.plan();
        int blockRows = FastFeatureSummary.BLOCK_ROWS;
        boolean atBoundary = IntStream.range(0, plan.pieces()).map(plan::pieceLength)
                .anyMatch(length -> length >= blockRows - 1 && (length % blockRows <= 1
                        || length % blockRows == blockRows - 1));
        boolean longDensePiece = rows.spec().paths() == PathMix.DENSE_ONLY
                && IntStream.range(0, plan.pieces()).anyMatch(p -> plan.pieceLength(p) > blockRows);
        Statistics.label("a piece within one row of a multiple of 256 rows").collect(atBoundary);
        Statistics.label("a dense-only piece of more than 256 rows").collect(longDensePiece);

        Outcome whole = Outcome.of(onePass(rows));
        Statistics.label("outcome").collect(whole.failure() == null ? "statistics" : "no statistics");
        assertSameStatistics(rows, whole, Outcome.of(plan.apply(rows, this::empty)), "pieces merged against one pass");

        Statistics.label("a piece within one row of a multiple of 256 rows")
                .coverage(coverage -> coverage.check(true).percentage(p -> p >= 20));
        Statistics.label("a dense-only piece of more than 256 rows")
                .coverage(coverage -> coverage.check(true).percentage(p -> p >= 8));
        Statistics.label("outcome").coverage(coverage -> coverage.check("statistics").percentage(p -> p >= 60));
    }

    @Property(tries = REFERENCE_TRIES, seed = "7006")
    void onePassGivesTheExactStatisticsOfTheRowsItWasGiven(@ForAll("sequences") RowSequence rows) {
        Outcome outcome = Outcome.of(onePass(rows));
        double[][] values = rows.denseValues();
        double[] weights = rows.weights();
        long weighted = Arrays.stream(weights).filter(w -> w > 0).count();
        long[] count = new long[rows.dimension()];
        for (int i = 0; i < values.length; i++) {
            for (int j = 0; j < count.length; j++) {
                if (weights[i] > 0 && Double.isFinite(values[i][j])) {
                    count[j]++;
                }
            }
        }
        int noValue = IntStream.range(0, count.length).filter(j -> count[j] == 0).findFirst().orElse(-1);
        Statistics.label("outcome").collect(weighted == 0 ? "no row of positive weight"
                : noValue >= 0 ? "a feature with no value" : "statistics");
        Statistics.label("outcome").coverage(coverage -> {
            coverage.check("statistics").percentage(p -> p >= 60);
            coverage.check("no row of positive weight").count(c -> c >= 1);
            coverage.check("a feature with no value").count(c -> c >= 1);
        });
        if (weighted == 0) {
            assertEquals("IllegalStateException: no rows with positive weight have been summarised", outcome.failure());
        } else if (noValue >= 0) {
            assertEquals("IllegalArgumentException: feature " + noValue + " has no value with positive weight (weight 0.0,"
                    + " squared weight 0.0)", outcome.failure());
        } else {
            assertEquals(null, outcome.failure(), "failure");
            FeatureStatistics statistics = outcome.statistics();
            assertEquals(weighted, statistics.rowCount(), "rows of positive weight");
            assertArrayEquals(count, statistics.count(), "per-feature count of values that are not missing");
            assertMatchesReference(rows, ExactReference.withMissing(values, weights), statistics,
                    "one pass against BigDecimal");
        }
    }

    /** How far {@code actual} is from {@code expected}, in units of the last place of {@code scale}. */
    static double ulps(double expected, double actual, double scale) {
        return expected == actual ? 0.0 : Math.abs(actual - expected) / Math.ulp(scale);
    }

    private static byte[] serialized(Object value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    @Provide
    Arbitrary<RowSequence> sequences() {
        // Uniform, not jqwik's default bias towards small values, whose strength depends on the number of tries.
        Arbitrary<Integer> length = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.integers().between(0, 24).withDistribution(RandomDistribution.uniform())),
                Tuple.of(2, Arbitraries.integers().between(230, 290).withDistribution(RandomDistribution.uniform())),
                Tuple.of(2, Arbitraries.integers().between(291, 800).withDistribution(RandomDistribution.uniform())));
        Arbitrary<List<FeatureKind>> features = Arbitraries.of(FeatureKind.class).list().ofMinSize(1).ofMaxSize(5);
        Arbitrary<PathMix> paths = Arbitraries.frequency(Tuple.of(4, PathMix.DENSE_ONLY), Tuple.of(1, PathMix.MOSTLY_DENSE),
                Tuple.of(2, PathMix.ANY), Tuple.of(1, PathMix.MISSING_ONLY));
        return Combinators.combine(Arbitraries.longs(), length, features, paths, Arbitraries.of(WeightMix.class))
                .as(RowSequence.Spec::new).map(RowSequence::of);
    }

    /**
     * Sequences with 2 to 6 pieces, whose lengths are small more often than large, or within one row of a multiple of 256
     * that fits in the sequence.
     */
    @Provide
    Arbitrary<Split> splits() {
        int blockRows = FastFeatureSummary.BLOCK_ROWS;
        return sequences().flatMap(rows -> {
            Arbitrary<Integer> anywhere = Arbitraries.integers().between(0, rows.size())
                    .withDistribution(RandomDistribution.biased());
            Arbitrary<Integer> length = anywhere;
            if (rows.size() >= blockRows - 1) {
                Arbitrary<Integer> atABlockBoundary = Combinators.combine(
                        Arbitraries.integers().between(1, Math.max(1, (rows.size() + 1) / blockRows)),
                        Arbitraries.integers().between(-1, 1)).as((blocks, off) -> blocks * blockRows + off);
                length = Arbitraries.frequencyOf(Tuple.of(1, anywhere), Tuple.of(2, atABlockBoundary));
            }
            return Combinators.combine(length.list().ofMinSize(1).ofMaxSize(5), Arbitraries.longs())
                    .as((pieces, shape) -> new Split(rows, MergePlan.of(rows.size(), pieces, shape)));
        });
    }
}
