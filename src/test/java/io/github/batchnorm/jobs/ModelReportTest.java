package io.github.batchnorm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelReportTest {
    private static final long ROWS = 10;

    /**
     * Six features of a 10-row fit: 0 and 5 zero in every row (implicit); 1 zero on average but not everywhere (variance
     * 0.4); 2 zero wherever present but missing in 3 rows; 3 the constant 1.5; 4 a tiny mean with no variance.
     */
    private static BatchNormalizationModel model() {
        long[] count = {ROWS, ROWS, 7, ROWS, ROWS, ROWS};
        double[] weights = new double[count.length];
        for (int j = 0; j < count.length; j++) {
            weights[j] = count[j];
        }
        double[] mean = {0.0, 0.0, 0.0, 1.5, Double.MIN_VALUE, 0.0};
        double[] variance = {0.0, 0.4, 0.0, 0.0, 0.0, 0.0};
        FeatureStatistics statistics = new FeatureStatistics(ROWS, count, weights, weights, mean, variance);
        BatchNormalizationModel model = new BatchNormalizationModel("batchNorm_report", statistics);
        model.setInputCol("features").setOutputCol("scaled").setVarianceMode(VarianceMode.POPULATION.paramValue());
        return model;
    }

    @Test
    void describeCountsTheFeaturesZeroInEveryRowAsImplicitAndTheRestAsStored() throws Exception {
        BatchNormalizationModel model = model();
        assertEquals(2, ModelReport.implicitFeatures(model));

        JsonNode json = new ObjectMapper().readTree(ModelReport.json(model));
        assertEquals(6, json.get("numFeatures").intValue());
        assertEquals(4, json.get("storedFeatures").longValue());
        assertEquals(2, json.get("implicitFeatures").longValue());

        String table = ModelReport.table(model);
        assertTrue(table.contains("6 features: 4 stored (a value other than zero, or a missing value, in some row), 2"
                + " implicit (zero in every row)\n"), table);
    }

    @Test
    void describeCountsTheSameFromStatisticsThatStoreOnlySomeFeatures() throws Exception {
        // The model above with only features 1 to 4 stored: 0 and 5 follow the rule (count 10, mean 0, variance 0), and
        // feature 4's tiny mean keeps it stored. Every count, mean and variance is the same, and so is the report.
        FeatureStatistics stored = FeatureStatistics.stored(ROWS, 6, new int[] {1, 2, 3, 4},
                new long[] {ROWS, 7, ROWS, ROWS}, new double[] {ROWS, 7, ROWS, ROWS}, new double[] {ROWS, 7, ROWS, ROWS},
                new double[] {0.0, 0.0, 1.5, Double.MIN_VALUE}, new double[] {0.4, 0.0, 0.0, 0.0}, ROWS, ROWS);
        assertEquals(model().statistics(), stored);
        BatchNormalizationModel model = new BatchNormalizationModel("batchNorm_report", stored);
        model.setInputCol("features").setOutputCol("scaled").setVarianceMode(VarianceMode.POPULATION.paramValue());
        assertEquals(2, ModelReport.implicitFeatures(model));
        assertEquals(ModelReport.json(model()), ModelReport.json(model));
        assertEquals(ModelReport.table(model()), ModelReport.table(model));
    }

    @Test
    void importReadsTheCountsBackAndRefusesCountsOutOfStepWithTheArrays() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode json = (ObjectNode) mapper.readTree(ModelReport.json(model()));
        ImportCommand command = new ImportCommand();
        command.json = "stats.json";
        assertEquals(2, ModelReport.implicitFeatures(command.parse(json.toString())));

        json.put("implicitFeatures", 3);
        UsageException wrongImplicit = assertThrows(UsageException.class, () -> command.parse(json.toString()));
        assertTrue(wrongImplicit.getMessage().contains("'implicitFeatures' is 3 but the statistics give 2"),
                wrongImplicit.getMessage());

        json.put("implicitFeatures", 2);
        json.put("storedFeatures", "4");
        UsageException notANumber = assertThrows(UsageException.class, () -> command.parse(json.toString()));
        assertTrue(notANumber.getMessage().contains("'storedFeatures' is \"4\" but the statistics give 4"),
                notANumber.getMessage());
    }

    /**
     * A model of 2^28 features of which three are stored, built from its statistics (no fit): 7 (mean 2.5, variance
     * 0.25), 2^27 (mean 0, variance 1, so not implicit) and 2^28 - 1 (zero wherever present, missing in 2 of 10 rows).
     */
    private static BatchNormalizationModel wideModel() {
        int wide = 1 << 28;
        FeatureStatistics stored = FeatureStatistics.stored(ROWS, wide, new int[] {7, 1 << 27, wide - 1},
                new long[] {ROWS, ROWS, 8}, new double[] {ROWS, ROWS, 8}, new double[] {ROWS, ROWS, 8},
                new double[] {2.5, 0.0, 0.0}, new double[] {0.25, 1.0, 0.0}, ROWS, ROWS);
        BatchNormalizationModel model = new BatchNormalizationModel("batchNorm_wide", stored);
        model.setInputCol("hashed").setOutputCol("scaled").setVarianceMode(VarianceMode.POPULATION.paramValue());
        return model;
    }

    @Test
    void describeListsTheStoredFeaturesOfAModelOfTwoToTheTwentyEightAndOneRuleForTheOthers() throws Exception {
        BatchNormalizationModel model = wideModel();
        assertTrue(ModelReport.listsStoredFeaturesOnly(model));
        assertEquals((1L << 28) - 3, ModelReport.implicitFeatures(model), "every feature but the three stored");

        String text = ModelReport.json(model);
        assertTrue(text.length() < 2_000, text.length() + " characters: " + text);
        JsonNode json = new ObjectMapper().readTree(text);
        assertEquals(1 << 28, json.get("numFeatures").intValue());
        assertEquals(3, json.get("storedFeatures").longValue());
        assertEquals((1L << 28) - 3, json.get("implicitFeatures").longValue());
        assertEquals("[7,134217728,268435455]", json.get("features").toString());
        assertEquals("[10,10,8]", json.get("count").toString());
        assertEquals("[2.5,0.0,0.0]", json.get("mean").toString());
        assertEquals("[0.25,1.0,0.0]", json.get("variance").toString());
        assertEquals("[1.0,1.0,1.0]", json.get("gamma").toString());
        assertEquals("[0.0,0.0,0.0]", json.get("beta").toString());
        assertEquals("{\"count\":10,\"mean\":0.0,\"variance\":0.0,\"gamma\":1.0,\"beta\":0.0}",
                json.get("otherFeatures").toString());

        String table = ModelReport.table(model);
        assertTrue(table.length() < 2_000, table.length() + " characters: " + table);
        String[] lines = table.split("\n");
        assertEquals("feature", lines[0].split(" +")[0]);
        assertEquals(List.of("hashed[7]", "10", "2.50000", "0.250000", "1.00000", "0.00000"),
                List.of(lines[1].trim().split(" +")));
        assertTrue(lines[2].startsWith("hashed[134217728] "), table);
        assertTrue(lines[3].startsWith("hashed[268435455] "), table);
        assertEquals(List.of("the", "other", "268435453", "10", "0.00000", "0.00000", "1.00000", "0.00000"),
                List.of(lines[4].trim().split(" +")));
        assertTrue(table.contains("268435456 features: 3 stored (a value other than zero, or a missing value, in some"
                + " row), 268435453 implicit (zero in every row)\n"), table);

        // import reads this form back into statistics that store the same three features with the same numbers.
        ImportCommand command = new ImportCommand();
        command.json = "wide.json";
        FeatureStatistics imported = command.parse(text).statistics();
        assertFalse(imported.storesEveryFeature());
        assertEquals(1 << 28, imported.numFeatures());
        assertEquals(ROWS, imported.rowCount());
        assertEquals("[7, 134217728, 268435455]", Arrays.toString(imported.storedFeatures()));
        assertEquals("[10, 10, 8]", Arrays.toString(imported.storedCount()));
        assertEquals("[2.5, 0.0, 0.0]", Arrays.toString(imported.storedMean()));
        assertEquals("[0.25, 1.0, 0.0]", Arrays.toString(imported.storedVariance(VarianceMode.POPULATION)));
    }

    @Test
    void aModelOfAtMostTwoToTheTwentyFeaturesOrWithPerFeatureGammaIsListedFeatureByFeature() {
        assertFalse(ModelReport.listsStoredFeaturesOnly(model()), "every feature stored");
        FeatureStatistics narrow = FeatureStatistics.stored(ROWS, 1 << 20, new int[] {7}, new long[] {ROWS},
                new double[] {ROWS}, new double[] {ROWS}, new double[] {2.5}, new double[] {0.25}, ROWS, ROWS);
        BatchNormalizationModel atLimit = new BatchNormalizationModel("batchNorm_narrow", narrow);
        atLimit.setInputCol("hashed");
        assertFalse(ModelReport.listsStoredFeaturesOnly(atLimit), "2^20 features");
        FeatureStatistics wider = FeatureStatistics.stored(ROWS, (1 << 20) + 1, new int[] {7}, new long[] {ROWS},
                new double[] {ROWS}, new double[] {ROWS}, new double[] {2.5}, new double[] {0.25}, ROWS, ROWS);
        BatchNormalizationModel aboveLimit = new BatchNormalizationModel("batchNorm_wider", wider);
        aboveLimit.setInputCol("hashed");
        assertTrue(ModelReport.listsStoredFeaturesOnly(aboveLimit), "2^20 + 1 features");
        double[] gamma = new double[(1 << 20) + 1];
        Arrays.fill(gamma, 2.0);
        aboveLimit.setGamma(gamma);
        assertFalse(ModelReport.listsStoredFeaturesOnly(aboveLimit), "a gamma per feature is not one rule");
    }
}
