package io.github.batchnorm.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.batchnorm.testing.RowSequence;
import io.github.batchnorm.testing.RowSequence.PathMix;
import io.github.batchnorm.testing.SeededCases;
import io.github.batchnorm.testing.SeededCases.Case;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The laws of {@link FastFeatureSummaryLawsTest} for summaries that keep the touched-only form until a dense row or merge
 * arrives: the generated rows have 1 to 5 features, too few for the default switch to leave them sparse. Pieces of
 * sparse rows stay touched-only and pieces with dense rows become dense, so the merges mix both forms. And the form is
 * not visible in the results: the touched-only form, the default switch and the dense form give the same bits.
 */
@DisplayName("FastFeatureSummary laws, touched-only form")
class FastFeatureSummaryTouchedOnlyLawsTest extends FastFeatureSummaryLawsTest {

    @Override
    FastFeatureSummary empty() {
        return FastFeatureSummary.withDenseShare(1.0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formCases")
    void everyFormAndSwitchGivesTheSameBits(Case<Split> generated) {
        String at = generated + ": ";
        RowSequence rows = generated.value().rows();
        Outcome dense = Outcome.of(generated.value().plan().apply(rows, () -> FastFeatureSummary.withDenseShare(0.0)));
        for (double share : new double[] {1.0, 0.5, 0.25}) {
            Outcome touchedOnly = Outcome.of(generated.value().plan().apply(rows,
                    () -> FastFeatureSummary.withDenseShare(share)));
            assertEquals(dense, touchedOnly, at + "dense from " + share + " of the features, against dense throughout");
        }
        Outcome onePassDense = Outcome.of(rows.addTo(FastFeatureSummary.withDenseShare(0.0), 0, rows.size()));
        assertEquals(onePassDense, Outcome.of(onePass(rows)), at + "one pass, touched-only against dense");
    }

    @Test
    void mostFormCasesHaveATouchedOnlyPieceAndStatistics() {
        assertMostCasesHaveATouchedOnlyPieceAndStatistics(formCases(), FastFeatureSummary::isTouchedOnly);
    }

    static Stream<Case<Split>> formCases() {
        return SeededCases.cases(7008, TRIES, FastFeatureSummaryTouchedOnlyLawsTest::sparseSplit);
    }

    /**
     * Sequences as {@link AccumulatorLaws#sequence} draws them, but sparse rows only in half of them (pieces that stay
     * touched-only), any path in a quarter and dense rows only in the rest (pieces that start dense), cut as
     * {@link AccumulatorLaws#split} cuts.
     */
    static Split sparseSplit(SplittableRandom random) {
        RowSequence drawn = sequence(random);
        PathMix[] paths = {PathMix.SPARSE_ONLY, PathMix.SPARSE_ONLY, PathMix.ANY, PathMix.DENSE_ONLY};
        RowSequence.Spec spec = drawn.spec();
        RowSequence rows = RowSequence.of(new RowSequence.Spec(spec.seed(), spec.rows(), spec.features(),
                paths[random.nextInt(paths.length)], spec.weights()));
        return split(random, rows);
    }
}
