package io.github.batchnorm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
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
}
