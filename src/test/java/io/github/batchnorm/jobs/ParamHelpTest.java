package io.github.batchnorm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.BatchNormalization;
import java.util.List;
import org.apache.spark.ml.param.Param;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The command line's help for the params is the params' own docs, not a retyped copy. */
@DisplayName("The job's help texts")
class ParamHelpTest {
    /** The params the fit's options set; the output columns and aggregationDepth have no option of their own doc. */
    private static final List<String> PARAMS_WITH_OPTIONS = List.of("inputCol", "inputCols", "weightCol",
            "handleInvalid", "epsilon", "center", "scale", "gamma", "beta", "varianceMode", "momentum", "summation");

    @Test
    void fitHelpShowsEveryParamOptionWithItsParamDocVerbatim() {
        JobRun help = JobRun.of("fit", "--help");
        assertEquals(0, help.exitCode(), help.err());
        String text = flattened(help.out());
        BatchNormalization stage = new BatchNormalization();
        for (String name : PARAMS_WITH_OPTIONS) {
            Param<?> param = stage.getParam(name);
            assertTrue(text.contains(flattened(param.doc())), "fit --help shows the doc of " + name + ": "
                    + param.doc());
        }
    }

    @Test
    void fitTransformHelpShowsTheSameDocs() {
        JobRun help = JobRun.of("fit-transform", "--help");
        assertEquals(0, help.exitCode(), help.err());
        String text = flattened(help.out());
        assertTrue(text.contains(flattened(new BatchNormalization().epsilon().doc())), text);
        assertTrue(!text.contains("${bundle:"), "every help variable is resolved: " + text);
    }

    /** Help text wrapped at the terminal width, as one line of single spaces. */
    private static String flattened(String text) {
        return text.replaceAll("\\s+", " ").replace("sqrt (", "sqrt(");
    }
}
