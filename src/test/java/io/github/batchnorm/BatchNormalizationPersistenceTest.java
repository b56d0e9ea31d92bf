package io.github.batchnorm;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.stats.VarianceMode;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.SparkTestSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("BatchNormalization persistence, copies and pipelines")
class BatchNormalizationPersistenceTest {
    private static Dataset<Row> data;

    @TempDir
    Path directory;

    @BeforeAll
    static void makeData() {
        data = SparkTestSession.vectors(Data.sparse(41, 300, 5, 0.5), true, 3).cache();
    }

    private static List<Vector> outputs(Transformer transformer, String column) {
        return transformer.transform(data).orderBy("id").select(column).collectAsList().stream()
                .map(row -> (Vector) row.get(0)).collect(Collectors.toList());
    }

    private String path(String name) {
        return directory.resolve(name).toString();
    }

    @Test
    void estimatorSavesAndLoadsWithEveryParam() throws IOException {
        BatchNormalization estimator = new BatchNormalization().setInputCol("features").setOutputCol("y")
                .setEpsilon(1e-3).setCenter(false).setScale(true).setGamma(1, 2, 3, 4, 5).setBeta(0, 0, 0, 0, 1)
                .setVarianceMode("sample").setAggregationDepth(3).setWeightCol("w").setHandleInvalid("keep")
                .setMomentum(0.8).setSummation("exact").setGroupCols("store", "day").setHandleUnseenGroup("global")
                .setMinGroupCount(5);
        for (Param<?> param : estimator.params()) {
            // inputCols and outputCols exclude inputCol and outputCol; every other param gets a value of its own.
            if (!List.of("inputCols", "outputCols").contains(param.name())) {
                assertTrue(estimator.isSet(param), param.name() + " is set, so that its save and load is tested");
            }
        }
        estimator.save(path("estimator"));
        BatchNormalization loaded = BatchNormalization.load(path("estimator"));
        assertEquals(estimator.uid(), loaded.uid());
        for (Param<?> param : estimator.params()) {
            assertEquals(estimator.isDefined(param), loaded.isDefined(loaded.getParam(param.name())), param.name());
            if (!estimator.isDefined(param)) {
                continue;
            }
            Object expected = estimator.getOrDefault(param);
            Object actual = loaded.getOrDefault(loaded.getParam(param.name()));
            assertTrue(Objects.deepEquals(expected, actual), param.name() + ": " + expected + " vs " + actual);
            assertEquals(estimator.isSet(param), loaded.isSet(loaded.getParam(param.name())), param.name() + " set");
        }
        assertArrayEquals(new double[] {1, 2, 3, 4, 5}, loaded.getGamma());
        assertEquals(3, loaded.getAggregationDepth());
        assertEquals(0.8, loaded.getOrDefault(loaded.getParam("momentum")));
        assertEquals("exact", loaded.getOrDefault(loaded.getParam("summation")));
        assertArrayEquals(new String[] {"store", "day"}, loaded.getGroupCols());
        assertEquals(5, loaded.getMinGroupCount());
    }

    @Test
    void modelSavesAndLoadsAndTransformsIdentically() throws IOException {
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").setGamma(2, 2, 2, 2, 2)
                .setVarianceMode("sample").fit(data);
        model.save(path("model"));
        BatchNormalizationModel loaded = BatchNormalizationModel.load(path("model"));
        assertEquals(model.uid(), loaded.uid());
        assertEquals(model.statistics(), loaded.statistics(), "statistics survive bit for bit");
        assertEquals("sample", loaded.getVarianceMode());
        assertEquals(outputs(model, "y"), outputs(loaded, "y"));
        assertTrue(Files.isDirectory(directory.resolve("model/metadata")));
        assertTrue(Files.isDirectory(directory.resolve("model/data")));
        try (Stream<Path> files = Files.list(directory.resolve("model/data"))) {
            assertTrue(files.anyMatch(file -> file.toString().endsWith(".parquet")), "statistics are stored as Parquet");
        }
    }

    @Test
    void savingOverAnExistingModelNeedsOverwrite() throws IOException {
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(data);
        model.save(path("model"));
        IOException refused = assertThrows(IOException.class, () -> model.save(path("model")));
        assertTrue(refused.getMessage().contains("already exists"), refused.getMessage());
        model.setEpsilon(0.5).write().overwrite().save(path("model"));
        assertEquals(0.5, BatchNormalizationModel.load(path("model")).getEpsilon());
    }

    @Test
    void unknownFormatVersionIsRejectedWithAClearMessage() throws IOException {
        new BatchNormalization().setOutputCol("y").fit(data).save(path("model"));
        Path metadataFile;
        try (Stream<Path> files = Files.list(directory.resolve("model/metadata"))) {
            metadataFile = files.filter(file -> file.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
        }
        String json = Files.readString(metadataFile, StandardCharsets.UTF_8);
        assertTrue(json.contains("\"formatVersion\":2"), json);
        Files.writeString(metadataFile, json.replace("\"formatVersion\":2", "\"formatVersion\":99"));
        Files.deleteIfExists(metadataFile.resolveSibling("." + metadataFile.getFileName() + ".crc"));
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> BatchNormalizationModel.load(path("model")));
        assertEquals("Model at '" + path("model") + "' has format version 99, written by a newer spark-batchnorm; this"
                + " version reads format versions 1 to 3 only: upgrade spark-batchnorm to read it.", error.getMessage());
    }

    /** The rows the format-version-2 fixture was fitted on: 12 features, 3 and 7 never non-zero, the rest a third of the time. */
    private static double[][] formatVersion2Rows() {
        double[][] rows = new double[30][12];
        java.util.SplittableRandom random = new java.util.SplittableRandom(71);
        for (double[] row : rows) {
            for (int j = 0; j < 12; j++) {
                if (j != 3 && j != 7 && random.nextInt(3) == 0) {
                    row[j] = Math.round(random.nextDouble() * 1000) / 100.0 - 2;
                }
            }
        }
        return rows;
    }

    @Test
    void aModelSavedInFormatVersion2BeforeSparseStatisticsStillLoadsAndTransforms() throws Exception {
        // Written by the code before sparse statistics existed (dense format version 2), fitted on sparse vectors.
        double[][] rows = formatVersion2Rows();
        String saved = Path.of(getClass().getResource("/models/format-v2-sparse").toURI()).toString();
        BatchNormalizationModel model = BatchNormalizationModel.load(saved);
        assertEquals("batchNorm_8dab027050ce", model.uid());
        assertTrue(model.statistics().isExact());
        assertEquals(30, model.count());
        ExactReference reference = ExactReference.of(rows);
        for (int j = 0; j < 12; j++) {
            double spread = Math.sqrt(reference.populationVariance(j));
            assertClose(reference.mean(j), model.mean().apply(j), 1e-12, spread, "mean " + j);
            assertRelative(reference.populationVariance(j), model.variance().apply(j), 1e-12, "variance " + j);
        }
        assertEquals(0.0, model.mean().apply(3));
        assertEquals(0.0, model.variance().apply(7));
        Vector first = model.transform(SparkTestSession.vectors(new double[][] {rows[0]}, true, 1))
                .select("normalized").first().getAs(0);
        for (int j = 0; j < 12; j++) {
            double expected = (rows[0][j] - reference.mean(j)) / Math.sqrt(reference.populationVariance(j) + 1e-5);
            assertClose(expected, first.apply(j), 1e-12, 1.0, "normalized " + j);
        }
        model.save(path("resaved"));
        assertEquals(model.statistics(), BatchNormalizationModel.load(path("resaved")).statistics(),
                "saved again in the current format");
    }

    @Test
    void aModelSavedInFormatVersion3StoresItsTouchedFeaturesAndARuleAndLoadsAndTransformsSparse() throws Exception {
        // Written by this version from FeatureStatistics.stored(6, 12, {1, 4, 9}, ...): three stored features, the nine
        // others implicit (count 6, weight 6, mean 0, variance 0), epsilon 1e-3.
        String saved = Path.of(getClass().getResource("/models/format-v3-stored").toURI()).toString();
        BatchNormalizationModel model = BatchNormalizationModel.load(saved);
        assertEquals("batchNorm_5f0c3e7a21d4", model.uid());
        assertEquals(1e-3, model.getEpsilon());
        io.github.batchnorm.stats.FeatureStatistics statistics = model.statistics();
        assertFalse(statistics.storesEveryFeature());
        assertTrue(statistics.isExact());
        assertEquals(12, statistics.numFeatures());
        assertEquals(6, statistics.rowCount());
        assertArrayEquals(new int[] {1, 4, 9}, statistics.storedFeatures());
        assertArrayEquals(new long[] {6, 6, 6, 6, 5, 6, 6, 6, 6, 6, 6, 6}, statistics.count());
        assertArrayEquals(new double[] {0, 0.5, 0, 0, -1.25, 0, 0, 0, 0, 3.0, 0, 0}, statistics.mean());
        assertArrayEquals(new double[] {0, 0.25, 0, 0, 2.0, 0, 0, 0, 0, 1.5, 0, 0},
                statistics.variance(VarianceMode.POPULATION));
        assertEquals(6.0, statistics.implicitWeightSum());

        double[] row = {0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 0, 0};
        Vector normalized = model.transform(SparkTestSession.vectors(new double[][] {row}, true, 1))
                .select("normalized").first().getAs(0);
        // Sparse in, sparse out: the row's entries (7 is implicit: 3 / sqrt(0 + 1e-3)) and feature 9, whose mean 3
        // sends its 0 to -3 / sqrt(1.5 + 1e-3).
        assertInstanceOf(org.apache.spark.ml.linalg.SparseVector.class, normalized);
        assertArrayEquals(new int[] {1, 4, 7, 9}, ((org.apache.spark.ml.linalg.SparseVector) normalized).indices());
        assertRelative(0.5 / Math.sqrt(0.251), normalized.apply(1), 1e-12, "feature 1");
        assertRelative(3.25 / Math.sqrt(2.001), normalized.apply(4), 1e-12, "feature 4");
        assertRelative(3.0 / Math.sqrt(1e-3), normalized.apply(7), 1e-12, "feature 7");
        assertRelative(-3.0 / Math.sqrt(1.501), normalized.apply(9), 1e-12, "feature 9");
        assertEquals(0.0, normalized.apply(0));

        model.save(path("resaved-v3"));
        BatchNormalizationModel resaved = BatchNormalizationModel.load(path("resaved-v3"));
        assertEquals(statistics, resaved.statistics());
        assertArrayEquals(new int[] {1, 4, 9}, resaved.statistics().storedFeatures());
    }

    @Test
    void aModelSavedInFormatVersion1StillLoadsAsExactStatisticsAndUpdates() throws Exception {
        // Written by the first release's code (format version 1: no 'exact' or 'varianceMode' column) from these rows.
        double[][] rows = Data.dense(61, 40, 3);
        String saved = Path.of(getClass().getResource("/models/format-v1").toURI()).toString();
        BatchNormalizationModel model = BatchNormalizationModel.load(saved);
        assertEquals("batchNorm_8dce5a6f18af", model.uid());
        assertTrue(model.statistics().isExact());
        assertEquals(40, model.count());
        assertArrayEquals(new double[] {1.5, 2.0, 0.5}, model.getGamma());
        assertEquals(1e-3, model.getEpsilon());
        assertFalse(model.isSet(model.momentum()));
        ExactReference reference = ExactReference.of(rows);
        for (int j = 0; j < 3; j++) {
            double spread = Math.sqrt(reference.populationVariance(j));
            assertClose(reference.mean(j), model.mean().apply(j), 1e-12, spread, "mean " + j);
            assertRelative(reference.populationVariance(j), model.variance().apply(j), 1e-12, "variance " + j);
        }

        double[][] more = Data.dense(62, 25, 3);
        BatchNormalizationModel updated = model.update(SparkTestSession.vectors(more, false, 2));
        double[][] union = Stream.concat(Arrays.stream(rows), Arrays.stream(more)).toArray(double[][]::new);
        ExactReference unionReference = ExactReference.of(union);
        for (int j = 0; j < 3; j++) {
            double spread = Math.sqrt(unionReference.populationVariance(j));
            assertClose(unionReference.mean(j), updated.mean().apply(j), 1e-12, spread, "updated mean " + j);
            assertRelative(unionReference.populationVariance(j), updated.variance().apply(j), 1e-12,
                    "updated variance " + j);
        }
        updated.save(path("resaved"));
        assertEquals(updated.statistics(), BatchNormalizationModel.load(path("resaved")).statistics(),
                "saved again in the current format");
    }

    @Test
    void runningStatisticsAndMomentumSurviveSaveAndLoad() throws IOException {
        BatchNormalizationModel running = BatchNormalizationModel.fromStatistics(new double[] {1, 2}, new double[] {3, 4},
                new double[] {0.5, 2}, new double[0], 1e-3, "sample").setMomentum(0.9);
        running.save(path("running"));
        BatchNormalizationModel loaded = BatchNormalizationModel.load(path("running"));
        assertEquals(running.statistics(), loaded.statistics());
        assertFalse(loaded.statistics().isExact());
        assertEquals(VarianceMode.SAMPLE, loaded.statistics().storedVarianceMode());
        assertEquals(0.9, loaded.getMomentum());
        assertEquals("sample", loaded.getVarianceMode());
    }

    @Test
    void pipelineAndPipelineModelRestoreTheStages() throws IOException {
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
            new BatchNormalization().setInputCol("features").setOutputCol("normalized").setEpsilon(1e-4)});
        pipeline.save(path("pipeline"));
        Pipeline loadedPipeline = Pipeline.load(path("pipeline"));
        BatchNormalization stage = assertInstanceOf(BatchNormalization.class, loadedPipeline.getStages()[0]);
        assertEquals(1e-4, stage.getEpsilon());

        PipelineModel fitted = loadedPipeline.fit(data);
        fitted.save(path("pipelineModel"));
        PipelineModel loadedModel = PipelineModel.load(path("pipelineModel"));
        assertInstanceOf(BatchNormalizationModel.class, loadedModel.stages()[0]);
        assertEquals(outputs(fitted, "normalized"), outputs(loadedModel, "normalized"));
    }

    @Test
    void copiesKeepTheUidAndStatisticsButNotTheParamMapInstance() {
        BatchNormalization estimator = new BatchNormalization().setOutputCol("y").setEpsilon(0.1);
        BatchNormalization copied = estimator.copy(new ParamMap().put(estimator.epsilon(), 0.2));
        assertEquals(estimator.uid(), copied.uid());
        assertEquals(0.1, estimator.getEpsilon());
        assertEquals(0.2, copied.getEpsilon());
        assertNotEquals(estimator.uid(), new BatchNormalization().uid());

        BatchNormalizationModel model = estimator.fit(data);
        assertEquals(estimator.uid(), model.uid());
        assertSame(estimator, model.parent());
        BatchNormalizationModel modelCopy = model.copy(new ParamMap());
        assertNotSame(model, modelCopy);
        assertEquals(model.statistics(), modelCopy.statistics());
        assertSame(estimator, modelCopy.parent());
        assertEquals(outputs(model, "y"), outputs(modelCopy, "y"));
    }

    @Test
    void worksInsideCrossValidatorWithAParamGridOverEpsilon() {
        Dataset<Row> labelled = data.withColumn("label",
                functions.when(functions.rand(7).lt(0.5), 0.0).otherwise(1.0));
        BatchNormalization normalization = new BatchNormalization().setOutputCol("normalized");
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {normalization,
            new LogisticRegression().setFeaturesCol("normalized").setMaxIter(5)});
        ParamMap[] grid = new ParamGridBuilder().addGrid(normalization.epsilon(), new double[] {1e-5, 1.0}).build();
        CrossValidatorModel cv = new CrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid)
                .setEvaluator(new BinaryClassificationEvaluator()).setNumFolds(2).setSeed(3).fit(labelled);
        assertEquals(2, cv.avgMetrics().length);
        for (double metric : cv.avgMetrics()) {
            assertTrue(metric >= 0 && metric <= 1, "an area under the ROC curve: " + metric);
        }
        double bestEpsilon = cv.avgMetrics()[0] >= cv.avgMetrics()[1] ? 1e-5 : 1.0;
        PipelineModel best = (PipelineModel) cv.bestModel();
        BatchNormalizationModel normalizer = assertInstanceOf(BatchNormalizationModel.class, best.stages()[0]);
        // The best param map, refitted on all the rows: the reference's statistics, and its epsilon in the transform.
        assertEquals(bestEpsilon, normalizer.getEpsilon());
        double[][] values = Data.sparse(41, 300, 5, 0.5);
        ExactReference reference = ExactReference.of(values);
        assertEquals(300, normalizer.count());
        for (int j = 0; j < 5; j++) {
            double variance = reference.populationVariance(j);
            assertClose(reference.mean(j), normalizer.mean().apply(j), 1e-12, Math.sqrt(variance), "mean " + j);
            assertRelative(variance, normalizer.variance().apply(j), 1e-12, "variance " + j);
        }
        for (Row row : best.transform(labelled).select("id", "normalized").collectAsList()) {
            int id = (int) row.getLong(0);
            Vector y = (Vector) row.get(1);
            for (int j = 0; j < 5; j++) {
                assertClose(reference.normalize(j, values[id][j], false, bestEpsilon, 1, 0, true, true), y.apply(j),
                        1e-12, 1.0, "row " + id + " feature " + j);
            }
        }
    }

    @Test
    void toStringSummarisesTheModel() {
        BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(data);
        String text = model.toString();
        assertTrue(text.startsWith("BatchNormalizationModel: uid=" + model.uid() + ", numFeatures=5, count=300,"
                + " epsilon=1.0E-5, varianceMode=population, mean=["), text);
    }
}
