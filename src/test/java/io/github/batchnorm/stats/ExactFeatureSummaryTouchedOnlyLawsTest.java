package io.github.batchnorm.stats;

import io.github.batchnorm.testing.RowSequence;
import io.github.batchnorm.testing.SeededCases;
import io.github.batchnorm.testing.SeededCases.Case;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bit-for-bit laws of {@link ExactFeatureSummaryLawsTest} for summaries that keep the touched-only form until a dense
 * row or merge arrives: the generated rows have 1 to 5 features, too few for the default switch to leave them sparse.
 * Pieces of sparse rows stay touched-only and pieces with dense rows become dense, so the merges mix both forms (and
 * the laws' serialised copies carry both). And the form is not visible in the results: the touched-only form, a switch
 * at a half or a quarter of the features, and the dense form give the same bits.
 */
@DisplayName("ExactFeatureSummary laws, touched-only form")
class ExactFeatureSummaryTouchedOnlyLawsTest extends ExactFeatureSummaryLawsTest {

    @Override
    ExactFeatureSummary empty() {
        return ExactFeatureSummary.withDenseShare(1.0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formCases")
    void everyFormAndSwitchGivesTheSameBits(Case<Split> generated) {
        String at = generated + ": ";
        RowSequence rows = generated.value().rows();
        Outcome dense = Outcome.of(generated.value().plan().apply(rows, () -> ExactFeatureSummary.withDenseShare(0.0)));
        for (double share : new double[] {1.0, 0.5, 0.25}) {
            Outcome touchedOnly = Outcome.of(generated.value().plan().apply(rows,
                    () -> ExactFeatureSummary.withDenseShare(share)));
            assertSameStatistics(rows, dense, touchedOnly,
                    at + "dense from " + share + " of the features, against dense throughout");
        }
        Outcome onePassDense = Outcome.of(rows.addTo(ExactFeatureSummary.withDenseShare(0.0), 0, rows.size()));
        assertSameStatistics(rows, onePassDense, Outcome.of(onePass(rows)), at + "one pass, touched-only against dense");
    }

    @Test
    void mostFormCasesHaveATouchedOnlyPieceAndStatistics() {
        assertMostCasesHaveATouchedOnlyPieceAndStatistics(formCases(), ExactFeatureSummary::isTouchedOnly);
    }

    /** The cases of {@link FastFeatureSummaryTouchedOnlyLawsTest#sparseSplit}, seeded apart from the fast ones. */
    static Stream<Case<Split>> formCases() {
        return SeededCases.cases(7009, TRIES, FastFeatureSummaryTouchedOnlyLawsTest::sparseSplit);
    }
}
