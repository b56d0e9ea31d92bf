package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.SparkTestSession;
import io.github.batchnorm.testing.Tolerance;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A model with per-group statistics: persistence, update per group (exact and moving average), inverse transform. */
class GroupedModelTest {
    private static final SparkSession SPARK = SparkTestSession.get();

    /** Rows of (id, user, features as a Vector, weight); users 0..groups-1 plus null, skewed towards user 0. */
    private static List<Row> rows(long seed, int count, int groups, long firstId) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int user = random.nextDouble() < 0.4 ? 0 : random.nextInt(groups + 1);
            Long key = user == groups ? null : (long) user;
            double[] x = {user * 50.0 + random.nextGaussian() * (1 + user), 1e4 + random.nextGaussian()};
            rows.add(RowFactory.create(firstId + i, key, Vectors.dense(x), 0.5 + random.nextDouble()));
        }
        return rows;
    }

    private static Dataset<Row> frame(List<Row> rows) {
        StructType schema = new StructType().add("id", DataTypes.LongType).add("user", DataTypes.LongType)
                .add("features", SQLDataTypes.VectorType()).add("w", DataTypes.DoubleType);
        return SPARK.createDataFrame(rows, schema).repartition(2);
    }

    private static Map<Long, ExactReference> references(List<Row> rows) {
        Map<Long, List<Row>> byUser = new HashMap<>();
        for (Row row : rows) {
            byUser.computeIfAbsent(row.isNullAt(1) ? null : row.getLong(1), k -> new ArrayList<>()).add(row);
        }
        Map<Long, ExactReference> references = new HashMap<>();
        byUser.forEach((user, group) -> {
            double[][] x = group.stream().map(r -> ((Vector) r.get(2)).toArray()).toArray(double[][]::new);
            double[] w = group.stream().mapToDouble(r -> r.getDouble(3)).toArray();
            references.put(user, ExactReference.weighted(x, w));
        });
        return references;
    }

    private static Map<Long, Row> statistics(BatchNormalizationModel model) {
        Map<Long, Row> byUser = new HashMap<>();
        for (Row row : model.groupStatistics().collectAsList()) {
            byUser.put(row.isNullAt(0) ? null : row.getLong(0), row);
        }
        return byUser;
    }

    private static BatchNormalization estimator() {
        return new BatchNormalization().setInputCol("features").setOutputCol("out").setWeightCol("w")
                .setGroupCols("user");
    }

    @Test
    void savedAndLoadedModelKeepsItsGroupsAndTransformsIdentically(@TempDir Path dir) throws Exception {
        Dataset<Row> data = frame(rows(21, 1500, 30, 0));
        BatchNormalizationModel model = estimator().setMinGroupCount(20).fit(data);
        String path = dir.resolve("model").toString();
        model.write().save(path);
        assertTrue(Files.isDirectory(dir.resolve("model").resolve("groups")));
        BatchNormalizationModel loaded = BatchNormalizationModel.load(path);
        assertEquals(model.groupCount(), loaded.groupCount());
        assertEquals(20, loaded.getMinGroupCount());
        assertEquals(model.toString(), loaded.toString());
        Map<Long, Row> before = statistics(model);
        Map<Long, Row> after = statistics(loaded);
        assertEquals(before.keySet(), after.keySet());
        before.forEach((user, row) -> assertEquals(row, after.get(user), "group " + user));
        List<Row> expected = model.transform(data).orderBy("id").select("out").collectAsList();
        List<Row> actual = loaded.transform(data).orderBy("id").select("out").collectAsList();
        assertEquals(expected, actual);

        String plain = dir.resolve("plain").toString();
        new BatchNormalization().setInputCol("features").fit(data).write().save(plain);
        assertFalse(BatchNormalizationModel.load(plain).isGrouped());
    }

    @Test
    void exactUpdateEqualsTheReferenceOfBothBatchesPerGroup() {
        List<Row> first = rows(22, 1200, 12, 0);
        List<Row> second = rows(23, 900, 15, 10_000);
        BatchNormalizationModel model = estimator().fit(frame(first)).update(frame(second));
        List<Row> all = new ArrayList<>(first);
        all.addAll(second);
        Map<Long, ExactReference> references = references(all);
        Map<Long, Row> fitted = statistics(model);
        assertEquals(references.keySet(), fitted.keySet(), "groups of the second batch only are added");
        references.forEach((user, reference) -> {
            Row row = fitted.get(user);
            for (int j = 0; j < 2; j++) {
                Tolerance.assertClose(reference.mean(j), row.<Double>getList(2).get(j), 1e-12, 1e-12, "mean " + user);
                Tolerance.assertClose(reference.populationVariance(j), row.<Double>getList(3).get(j), 1e-9, 1e-12,
                        "variance " + user);
            }
        });
        assertEquals(all.size(), model.count());
    }

    @Test
    void aRunningModelKeepsPerGroupStatisticsCurrentBatchByBatch(@TempDir Path dir) {
        List<Row> first = rows(27, 700, 6, 0);
        List<Row> second = rows(28, 500, 9, 10_000);
        String path = dir.resolve("running").toString();
        RunningModel running = RunningModel.resume(path, estimator());
        assertTrue(running.update(frame(first), 0));
        assertTrue(running.update(frame(second), 1));
        assertFalse(running.update(frame(second), 1), "a batch already saved is skipped");
        List<Row> all = new ArrayList<>(first);
        all.addAll(second);
        Map<Long, ExactReference> references = references(all);
        Map<Long, Row> saved = statistics(BatchNormalizationModel.load(path));
        assertEquals(references.keySet(), saved.keySet());
        references.forEach((user, reference) -> {
            for (int j = 0; j < 2; j++) {
                Tolerance.assertClose(reference.mean(j), saved.get(user).<Double>getList(2).get(j), 1e-12, 1e-12,
                        "mean " + user);
            }
        });
    }

    @Test
    void momentumUpdateMovesEachGroupTowardsItsBatch() {
        List<Row> first = rows(24, 1200, 8, 0);
        List<Row> second = rows(25, 1200, 8, 10_000);
        double momentum = 0.75;
        BatchNormalizationModel model = estimator().fit(frame(first)).setMomentum(momentum).update(frame(second));
        Map<Long, ExactReference> old = references(first);
        Map<Long, ExactReference> batch = references(second);
        Map<Long, Row> fitted = statistics(model);
        for (Long user : batch.keySet()) {
            Row row = fitted.get(user);
            for (int j = 0; j < 2; j++) {
                double expectedMean = old.containsKey(user)
                        ? momentum * old.get(user).mean(j) + (1 - momentum) * batch.get(user).mean(j)
                        : batch.get(user).mean(j);
                double expectedVariance = old.containsKey(user)
                        ? momentum * old.get(user).populationVariance(j)
                                + (1 - momentum) * batch.get(user).populationVariance(j)
                        : batch.get(user).populationVariance(j);
                Tolerance.assertClose(expectedMean, row.<Double>getList(2).get(j), 1e-12, 1e-12, "mean " + user);
                Tolerance.assertClose(expectedVariance, row.<Double>getList(3).get(j), 1e-9, 1e-12, "variance " + user);
            }
        }
    }

    @Test
    void inverseTransformRestoresEachGroupsValues() {
        List<Row> rows = rows(26, 1000, 10, 0);
        Dataset<Row> data = frame(rows);
        BatchNormalizationModel model = estimator().setGamma(2.0, 0.5).setBeta(1.0, -3.0).fit(data);
        Dataset<Row> normalized = model.transform(data).drop("features");
        List<Row> restored = model.inverseTransform(normalized).orderBy("id").select("features").collectAsList();
        for (int i = 0; i < rows.size(); i++) {
            double[] x = ((Vector) rows.get(i).get(2)).toArray();
            double[] back = ((Vector) restored.get(i).get(0)).toArray();
            for (int j = 0; j < x.length; j++) {
                // Two affine maps and their roundings: a few ulps of the largest magnitude involved.
                assertTrue(Math.abs(back[j] - x[j]) <= 64 * Math.ulp(Math.max(Math.abs(x[j]), 1e4)),
                        "row " + i + " feature " + j + ": " + x[j] + " came back as " + back[j]);
            }
        }
        assertArrayEquals(new double[] {2.0, 0.5}, model.gammaValues().toArray());
        assertEquals(rows.size(), normalized.filter(functions.col("out").isNotNull()).count());
    }
}
