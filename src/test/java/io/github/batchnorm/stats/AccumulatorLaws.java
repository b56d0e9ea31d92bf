package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.MergePlan;
import io.github.batchnorm.testing.RowSequence;
import io.github.batchnorm.testing.RowSequence.FeatureKind;
import io.github.batchnorm.testing.RowSequence.PathMix;
import io.github.batchnorm.testing.RowSequence.WeightMix;
import io.github.batchnorm.testing.SeededCases;
import io.github.batchnorm.testing.SeededCases.Case;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

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
 * <p>The properties run as JUnit parameterized tests over seeded cases: each property draws its case seeds from a fixed
 * seed of its own, and each case is drawn from its case seed alone, so every run tries the same cases and a case's name
 * (its seed, the {@link RowSequence.Spec} and the merge plan) is enough to rebuild it. {@code -Dcases.seed=<case seed>}
 * runs every property on that one case. The generators' coverage (how many cases cut near a block boundary, end without
 * statistics, ...) is asserted by tests of its own over the same cases.
 */
abstract class AccumulatorLaws<A extends FeatureAccumulator> {
    /** Cases of the laws that compare numbers, which rounding could break in many ways. */
    static final int TRIES = 1000;
    /** Cases of the identity and of the untouched argument: exact, structural laws that cost several passes a case. */
    static final int STRUCTURAL_TRIES = 500;
    /** Fewer: the BigDecimal reference costs several times a law's case. */
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

    @ParameterizedTest(name = "{0}")
    @MethodSource("identityCases")
    void anEmptyAccumulatorIsAnIdentityForMergeOnBothSides(Case<RowSequence> generated) {
        String at = generated + ": ";
        RowSequence rows = generated.value();
        Outcome alone = Outcome.of(onePass(rows));

        A empty = empty();
        FeatureAccumulator emptyFirst = empty.merge(onePass(rows));
        assertSame(empty, emptyFirst, at + "merge returns its receiver");
        assertEquals(alone, Outcome.of(emptyFirst), at + "empty.merge(a)");

        A a = onePass(rows);
        assertSame(a, a.merge(empty()), at + "merge returns its receiver");
        assertEquals(alone, Outcome.of(a), at + "a.merge(empty)");

        // Rows of weight zero are ignored, so an accumulator that saw only such rows is empty too, though it has a dimension.
        double[] zeros = new double[rows.dimension()];
        assertEquals(alone, Outcome.of(empty().add(zeros, 0.0).merge(onePass(rows))), at + "weightless.merge(a)");
        assertEquals(alone, Outcome.of(onePass(rows).merge(empty().add(zeros, 0.0))), at + "a.merge(weightless)");
        assertEquals(-1, empty().merge(empty()).dimension(), at + "empty.merge(empty) has no dimension yet");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("untouchedArgumentCases")
    void mergeNeverChangesItsArgument(Case<Split> generated) {
        String at = generated + ": ";
        RowSequence rows = generated.value().rows();
        MergePlan plan = generated.value().plan();
        A receiver = piece(rows, plan.start(0), plan.end(0));
        for (int p = 1; p < plan.pieces(); p++) {
            A argument = piece(rows, plan.start(p), plan.end(p));
            // Serialised, the argument's whole state is compared, field by field, not only what toStatistics() shows.
            byte[] before = serialized(argument);
            receiver.merge(argument);
            assertArrayEquals(before, serialized(argument), at + "the state of piece " + p + " after it was merged");
            assertEquals(Outcome.of(piece(rows, plan.start(p), plan.end(p))), Outcome.of(argument),
                    at + "the statistics of piece " + p + " after it was merged");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commutativityCases")
    void mergeIsCommutative(Case<Split> generated) {
        String at = generated + ": ";
        RowSequence rows = generated.value().rows();
        int cut = generated.value().plan().end(0);
        int n = rows.size();
        assertSameStatistics(rows, Outcome.of(piece(rows, 0, cut).merge(piece(rows, cut, n))),
                Outcome.of(piece(rows, cut, n).merge(piece(rows, 0, cut))), at + "a.merge(b) against b.merge(a)");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("associativityCases")
    void mergeIsAssociative(Case<Split> generated) {
        String at = generated + ": ";
        RowSequence rows = generated.value().rows();
        MergePlan plan = generated.value().plan();
        int first = plan.end(0);
        int second = plan.pieces() > 2 ? plan.end(1) : rows.size();
        int n = rows.size();
        FeatureAccumulator leftFirst = piece(rows, 0, first).merge(piece(rows, first, second))
                .merge(piece(rows, second, n));
        FeatureAccumulator rightFirst = piece(rows, 0, first).merge(piece(rows, first, second)
                .merge(piece(rows, second, n)));
        assertSameStatistics(rows, Outcome.of(leftFirst), Outcome.of(rightFirst), at + "(a.merge(b)).merge(c) against"
                + " a.merge(b.merge(c))");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("treeCases")
    void splittingTheRowsAnywhereAndMergingThePiecesInAnyTreeEqualsOnePass(Case<Split> generated) {
        String at = generated + ": ";
        RowSequence rows = generated.value().rows();
        assertSameStatistics(rows, Outcome.of(onePass(rows)), Outcome.of(generated.value().plan().apply(rows,
                this::empty)), at + "pieces merged against one pass");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("referenceCases")
    void onePassGivesTheExactStatisticsOfTheRowsItWasGiven(Case<RowSequence> generated) {
        String at = generated + ": ";
        RowSequence rows = generated.value();
        Outcome outcome = Outcome.of(onePass(rows));
        String expectedFailure = expectedFailure(rows);
        assertEquals(expectedFailure, outcome.failure(), at + "failure");
        if (expectedFailure == null) {
            FeatureStatistics statistics = outcome.statistics();
            assertEquals(Arrays.stream(rows.weights()).filter(w -> w > 0).count(), statistics.rowCount(),
                    at + "rows of positive weight");
            assertArrayEquals(counts(rows), statistics.count(),
                    at + "per-feature count of values that are not missing");
            assertMatchesReference(rows, ExactReference.withMissing(rows.denseValues(), rows.weights()), statistics,
                    at + "one pass against BigDecimal");
        }
    }

    @Test
    void aFifthOfTheSplitsCutWithinOneRowOfAMultipleOf256RowsAndOneInTwelveHasALongDensePiece() {
        List<Case<Split>> cases = coverageCases(treeCases());
        int blockRows = FastFeatureSummary.BLOCK_ROWS;
        long atBoundary = cases.stream().map(Case::value).filter(split -> IntStream.range(0, split.plan().pieces())
                .map(split.plan()::pieceLength).anyMatch(length -> length >= blockRows - 1
                        && (length % blockRows <= 1 || length % blockRows == blockRows - 1))).count();
        long longDensePiece = cases.stream().map(Case::value).filter(split -> split.rows().spec().paths()
                == PathMix.DENSE_ONLY && IntStream.range(0, split.plan().pieces())
                        .anyMatch(p -> split.plan().pieceLength(p) > blockRows)).count();
        long statistics = cases.stream().filter(c -> expectedFailure(c.value().rows()) == null).count();
        String counts = atBoundary + " near a boundary, " + longDensePiece + " with a long dense piece, " + statistics
                + " with statistics, of " + cases.size();
        assertTrue(atBoundary >= 0.20 * cases.size(), counts);
        assertTrue(longDensePiece >= 0.08 * cases.size(), counts);
        assertTrue(statistics >= 0.60 * cases.size(), counts);
    }

    @Test
    void mostReferenceCasesHaveStatisticsAndSomeEndInEachFailure() {
        List<Case<RowSequence>> cases = coverageCases(referenceCases());
        long statistics = cases.stream().filter(c -> expectedFailure(c.value()) == null).count();
        long noWeight = cases.stream().filter(c -> Arrays.stream(c.value().weights()).noneMatch(w -> w > 0)).count();
        long noValue = cases.size() - statistics - noWeight;
        String counts = statistics + " with statistics, " + noWeight + " without a row of positive weight, " + noValue
                + " with a feature without a value, of " + cases.size();
        assertTrue(statistics >= 0.60 * cases.size(), counts);
        assertTrue(noWeight >= 1, counts);
        assertTrue(noValue >= 1, counts);
    }

    /**
     * Asserts that at least 40% of {@code cases} have a piece that stays in the touched-only form ({@code touchedOnly})
     * and 60% end with statistics: the laws of the touched-only form compare the forms only where both occur.
     */
    void assertMostCasesHaveATouchedOnlyPieceAndStatistics(Stream<Case<Split>> cases, Predicate<A> touchedOnly) {
        List<Case<Split>> counted = coverageCases(cases);
        long touchedOnlyPiece = counted.stream().map(Case::value).filter(split -> IntStream
                .range(0, split.plan().pieces())
                .anyMatch(p -> touchedOnly.test(piece(split.rows(), split.plan().start(p), split.plan().end(p)))))
                .count();
        long statistics = counted.stream().filter(c -> expectedFailure(c.value().rows()) == null).count();
        String counts = touchedOnlyPiece + " with a touched-only piece, " + statistics + " with statistics, of "
                + counted.size();
        assertTrue(touchedOnlyPiece >= 0.40 * counted.size(), counts);
        assertTrue(statistics >= 0.60 * counted.size(), counts);
    }

    /** The cases a coverage test counts: all of a property's, so not while a single case is replayed. */
    static <T> List<Case<T>> coverageCases(Stream<Case<T>> cases) {
        assumeTrue(System.getProperty(SeededCases.REPLAY_PROPERTY) == null, "a single case is replayed");
        return cases.toList();
    }

    /**
     * What {@code toStatistics()} must throw for these rows, worked out from the rows themselves: no row of positive
     * weight, or the first feature without a value in such a row; {@code null} when it must give statistics.
     */
    static String expectedFailure(RowSequence rows) {
        if (Arrays.stream(rows.weights()).noneMatch(w -> w > 0)) {
            return "IllegalStateException: no rows with positive weight have been summarised";
        }
        long[] count = counts(rows);
        int noValue = IntStream.range(0, count.length).filter(j -> count[j] == 0).findFirst().orElse(-1);
        return noValue < 0 ? null : "InvalidFeatureException: feature " + noValue + " has no value with positive weight"
                + " (weight 0.0, squared weight 0.0)";
    }

    /** Per feature, the values that are not missing in rows of positive weight. */
    static long[] counts(RowSequence rows) {
        double[][] values = rows.denseValues();
        double[] weights = rows.weights();
        long[] count = new long[rows.dimension()];
        for (int i = 0; i < values.length; i++) {
            for (int j = 0; j < count.length; j++) {
                if (weights[i] > 0 && Double.isFinite(values[i][j])) {
                    count[j]++;
                }
            }
        }
        return count;
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

    static Stream<Case<RowSequence>> identityCases() {
        return SeededCases.cases(7001, STRUCTURAL_TRIES, AccumulatorLaws::sequence);
    }

    static Stream<Case<Split>> untouchedArgumentCases() {
        return SeededCases.cases(7002, STRUCTURAL_TRIES, AccumulatorLaws::split);
    }

    static Stream<Case<Split>> commutativityCases() {
        return SeededCases.cases(7003, TRIES, AccumulatorLaws::split);
    }

    static Stream<Case<Split>> associativityCases() {
        return SeededCases.cases(7004, TRIES, AccumulatorLaws::split);
    }

    static Stream<Case<Split>> treeCases() {
        return SeededCases.cases(7005, TRIES, AccumulatorLaws::split);
    }

    static Stream<Case<RowSequence>> referenceCases() {
        return SeededCases.cases(7006, REFERENCE_TRIES, AccumulatorLaws::sequence);
    }

    /**
     * A sequence whose length is, equally often, up to 24 rows, around one block (230 to 290) or longer (291 to 800);
     * 1 to 5 features of any kind; dense rows only in half of the sequences, as only they take the blocked path.
     */
    static RowSequence sequence(SplittableRandom random) {
        int rows = switch (random.nextInt(3)) {
            case 0 -> random.nextInt(0, 25);
            case 1 -> random.nextInt(230, 291);
            default -> random.nextInt(291, 801);
        };
        List<FeatureKind> features = new ArrayList<>();
        for (int j = random.nextInt(1, 6); j > 0; j--) {
            features.add(oneOf(FeatureKind.values(), random));
        }
        PathMix[] paths = {PathMix.DENSE_ONLY, PathMix.DENSE_ONLY, PathMix.DENSE_ONLY, PathMix.DENSE_ONLY,
            PathMix.MOSTLY_DENSE, PathMix.ANY, PathMix.ANY, PathMix.MISSING_ONLY};
        return RowSequence.of(new RowSequence.Spec(random.nextLong(), rows, features, oneOf(paths, random),
                oneOf(WeightMix.values(), random)));
    }

    /**
     * A sequence cut into 2 to 6 pieces, whose lengths are log-uniform (small more often than large), or, two times in
     * three when the sequence holds a block, within one row of a multiple of 256 that fits in it.
     */
    static Split split(SplittableRandom random) {
        return split(random, sequence(random));
    }

    /** {@code rows} cut as {@link #split(SplittableRandom)} cuts its sequence. */
    static Split split(SplittableRandom random, RowSequence rows) {
        int blockRows = FastFeatureSummary.BLOCK_ROWS;
        List<Integer> lengths = new ArrayList<>();
        for (int p = random.nextInt(1, 6); p > 0; p--) {
            if (rows.size() >= blockRows - 1 && random.nextInt(3) > 0) {
                int blocks = random.nextInt(1, Math.max(1, (rows.size() + 1) / blockRows) + 1);
                lengths.add(blocks * blockRows + random.nextInt(-1, 2));
            } else {
                lengths.add((int) Math.pow(rows.size() + 1, random.nextDouble()) - 1);
            }
        }
        return new Split(rows, MergePlan.of(rows.size(), lengths, random.nextLong()));
    }

    private static <T> T oneOf(T[] values, SplittableRandom random) {
        return values[random.nextInt(values.length)];
    }
}
