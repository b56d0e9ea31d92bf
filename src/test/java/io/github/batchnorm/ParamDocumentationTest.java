package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.spark.ml.param.Param;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Each param is declared once, with a doc that ends in its default; everything that restates a param is checked against
 * that declaration here, so the copies cannot drift.
 */
@DisplayName("The params' documentation")
class ParamDocumentationTest {
    private static final Pattern DEFAULT = Pattern.compile("Default: (.+)$");
    private static final Pattern README_ROW = Pattern.compile("^\\| `(\\w+)` \\| (.*?) \\| .* \\|$");

    @Test
    void everyParamDocEndsInTheDefaultTheStageReallyHas() {
        BatchNormalization stage = new BatchNormalization();
        for (Param<?> param : stage.params()) {
            String stated = statedDefault(param);
            if (stated.equals("not set")) {
                assertFalse(stage.hasDefault(param), param.name() + " says it has no default");
                continue;
            }
            assertTrue(stage.hasDefault(param), param.name() + " states the default " + stated);
            Object actual = stage.getDefault(param).get();
            if (actual instanceof String[]) {
                assertEquals("empty", stated, param.name());
                assertArrayEquals(new String[0], (String[]) actual, param.name());
            } else if (actual instanceof double[]) {
                assertEquals("empty", stated, param.name());
                assertArrayEquals(new double[0], (double[]) actual, param.name());
            } else if (actual instanceof String) {
                String value = (String) actual;
                String expected = value.startsWith(stage.uid())
                        ? "uid + '" + value.substring(stage.uid().length()) + "'"
                        : "'" + value + "'";
                assertEquals(expected, stated, param.name());
            } else if (actual instanceof Double) {
                assertEquals((Double) actual, Double.parseDouble(stated), param.name());
            } else {
                assertEquals(actual.toString(), stated, param.name());
            }
        }
    }

    @Test
    void theReadmeParamTableListsEveryParamWithTheDefaultItsDocStates() throws IOException {
        Map<String, String> table = readmeParamTable();
        BatchNormalization stage = new BatchNormalization();
        assertEquals(Arrays.stream(stage.params()).map(Param::name).collect(Collectors.toCollection(TreeSet::new)),
                new TreeSet<>(table.keySet()), "params in the README's table");
        for (Param<?> param : stage.params()) {
            assertEquals(statedDefault(param), table.get(param.name()), "README default of " + param.name());
        }
    }

    @Test
    void theModelHasTheSameParamsAndDocsAsTheEstimator() {
        BatchNormalization estimator = new BatchNormalization();
        BatchNormalizationModel model = BatchNormalizationModel.fromStatistics(new double[] {0}, new double[] {1},
                new double[0], new double[0], 1e-5);
        Map<String, String> estimatorDocs = docs(estimator.params());
        Map<String, String> modelDocs = docs(model.params());
        assertEquals(estimatorDocs, modelDocs);
    }

    private static Map<String, String> docs(Param<?>[] params) {
        Map<String, String> docs = new LinkedHashMap<>();
        for (Param<?> param : params) {
            docs.put(param.name(), param.doc());
        }
        return docs;
    }

    /** The text after {@code Default: } at the end of the param's doc. */
    private static String statedDefault(Param<?> param) {
        Matcher matcher = DEFAULT.matcher(param.doc());
        if (!matcher.find()) {
            fail("The doc of " + param.name() + " does not end in 'Default: ...': " + param.doc());
        }
        return matcher.group(1);
    }

    /** Param name to default cell of the README's {@code ## Params} table. */
    private static Map<String, String> readmeParamTable() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("README.md"), StandardCharsets.UTF_8);
        int start = lines.indexOf("## Params");
        assertTrue(start >= 0, "README has a '## Params' section");
        Map<String, String> rows = new LinkedHashMap<>();
        for (String line : lines.subList(start + 1, lines.size())) {
            if (line.startsWith("## ")) {
                break;
            }
            Matcher row = README_ROW.matcher(line);
            if (row.matches()) {
                String previous = rows.put(row.group(1), row.group(2).replace("\\|", "|"));
                assertEquals(null, previous, "README lists " + row.group(1) + " twice");
            }
        }
        return rows;
    }
}
