package io.github.batchnorm.cluster;

import static io.github.batchnorm.testing.Tolerance.assertClose;
import static io.github.batchnorm.testing.Tolerance.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.batchnorm.BatchNormalization;
import io.github.batchnorm.BatchNormalizationModel;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.VarianceMode;
import io.github.batchnorm.testing.Data;
import io.github.batchnorm.testing.ExactReference;
import io.github.batchnorm.testing.SparkTestSession;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spark's {@code local-cluster[2,1,1024]} mode: the driver runs here and two executors run in JVMs of their own, started
 * by Spark's standalone Worker code exactly as on a cluster. Executors get Spark's jars on their classpath, as a
 * cluster's installation provides them, but not the library: it reaches them only as the application jar the driver
 * ships ({@code spark.jars}). Data, closures, summaries and broadcasts cross process boundaries, through Kryo as most
 * clusters configure it.
 *
 * <p>Every computation runs twice, first in local mode and then on the cluster, and the two must agree to 1e-12 relative:
 * not bit for bit, because Spark merges the partition summaries in the order their tasks finish.
 */
@DisplayName("On a local cluster (a driver and two executor JVMs), fit, transform, save and load give local mode's numbers")
class LocalClusterTest {
    private static final double TIGHT = 1e-12;
    private static final int ROWS = 3000;
    private static final int PARTITIONS = 6;
    private static final String[] SCALARS = {"a", "b", "c", "d"};
    private static final String[] SCALARS_OUT = {"a_bn", "b_bn", "c_bn", "d_bn"};
    private static final double[][] DENSE = Data.dense(701, ROWS, 8);
    private static final double[][] SPARSE = Data.sparse(702, ROWS, 12, 0.2);
    private static final double[][] SCALAR_VALUES = Data.dense(703, ROWS, SCALARS.length);
    /** Whole weights from 0 to 3: rows of weight 0 must drop out on the cluster as they do locally. */
    private static final double[] WEIGHTS = new SplittableRandom(704).doubles(ROWS, 0, 4).map(Math::floor).toArray();

    @TempDir
    static Path directory;

    private static final Map<Computation, Outcome> LOCAL_MODE = new EnumMap<>(Computation.class);
    private static SparkSession cluster;
    /** The executor of every task the cluster ran. */
    private static final Set<String> TASK_EXECUTORS = ConcurrentHashMap.newKeySet();

    /** What one computation produced: the fitted statistics, and the transformed rows in id order. */
    record Outcome(FeatureStatistics statistics, double[][] output) {
    }

    /** The computations compared between local mode and the cluster; each writes under its own directory. */
    enum Computation {
        DENSE_VECTORS {
            @Override
            Outcome run(SparkSession spark, Path workDirectory) {
                Dataset<Row> data = SparkTestSession.vectors(spark, DENSE, false, PARTITIONS);
                BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").fit(data);
                return new Outcome(model.statistics(), vectorOutput(model, data, "y"));
            }
        },
        SPARSE_VECTORS {
            @Override
            Outcome run(SparkSession spark, Path workDirectory) {
                Dataset<Row> data = SparkTestSession.vectors(spark, SPARSE, true, PARTITIONS);
                BatchNormalizationModel model = new BatchNormalization().setOutputCol("y").setVarianceMode("sample")
                        .fit(data);
                return new Outcome(model.statistics(), vectorOutput(model, data, "y"));
            }
        },
        WEIGHTED_SCALARS {
            @Override
            Outcome run(SparkSession spark, Path workDirectory) {
                Dataset<Row> data = scalarTable(spark);
                BatchNormalizationModel model = new BatchNormalization().setInputCols(SCALARS)
                        .setOutputCols(SCALARS_OUT).setWeightCol("w").fit(data);
                return new Outcome(model.statistics(), scalarOutput(model.transform(data)));
            }
        },
        EXACT_WEIGHTED_SCALARS {
            @Override
            Outcome run(SparkSession spark, Path workDirectory) {
                Dataset<Row> data = scalarTable(spark);
                BatchNormalizationModel model = new BatchNormalization().setInputCols(SCALARS)
                        .setOutputCols(SCALARS_OUT).setWeightCol("w").setSummation("exact").fit(data);
                return new Outcome(model.statistics(), scalarOutput(model.transform(data)));
            }
        },
        SAVED_AND_LOADED_MODEL {
            @Override
            Outcome run(SparkSession spark, Path workDirectory) throws IOException {
                Dataset<Row> data = SparkTestSession.vectors(spark, DENSE, false, PARTITIONS);
                BatchNormalizationModel fitted = new BatchNormalization().setOutputCol("y").setEpsilon(1e-3)
                        .setGamma(filled(2.0)).setBeta(filled(0.5)).fit(data);
                String path = workDirectory.resolve("model").toString();
                fitted.write().overwrite().save(path);
                BatchNormalizationModel loaded = BatchNormalizationModel.load(path);
                assertEquals(fitted.statistics(), loaded.statistics(), "statistics survive saving bit for bit");
                return new Outcome(loaded.statistics(), vectorOutput(loaded, data, "y"));
            }
        },
        SAVED_AND_LOADED_PIPELINE {
            @Override
            Outcome run(SparkSession spark, Path workDirectory) throws IOException {
                Dataset<Row> data = scalarTable(spark);
                Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
                    new VectorAssembler().setInputCols(SCALARS).setOutputCol("assembled"),
                    new BatchNormalization().setInputCol("assembled").setOutputCol("y").setVarianceMode("sample")
                        .setEpsilon(0.0)});
                String path = workDirectory.resolve("pipeline").toString();
                pipeline.fit(data).write().overwrite().save(path);
                PipelineModel loaded = PipelineModel.load(path);
                BatchNormalizationModel stage = assertInstanceOf(BatchNormalizationModel.class, loaded.stages()[1]);
                return new Outcome(stage.statistics(), vectorOutput(loaded, data, "y"));
            }
        };

        abstract Outcome run(SparkSession spark, Path workDirectory) throws IOException;

        private static double[] filled(double value) {
            double[] values = new double[DENSE[0].length];
            Arrays.fill(values, value);
            return values;
        }
    }

    @BeforeAll
    static void computeInLocalModeThenStartTheCluster() throws IOException, URISyntaxException {
        SparkSession local = SparkSession.builder().master("local[2]").appName("spark-batchnorm-local-mode")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
                .config("spark.driver.host", "127.0.0.1").getOrCreate();
        try {
            for (Computation computation : Computation.values()) {
                LOCAL_MODE.put(computation, computation.run(local, directory.resolve("local")));
            }
        } finally {
            local.stop();
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }

        String sparkHome = System.getenv("SPARK_HOME");
        assertNotNull(sparkHome, "SPARK_HOME must be set for this JVM (surefire's cluster-tests execution sets it):"
                + " Spark's executor launcher builds the executors' classpath from SPARK_HOME/jars");
        assertNotNull(System.getenv("SPARK_SCALA_VERSION"), "SPARK_SCALA_VERSION must be set for this JVM (2.13)");
        // Spark's own jars come from spark.executor.extraClassPath here, so the folder stays empty; it must exist.
        Files.createDirectories(Path.of(sparkHome, "jars"));

        cluster = SparkSession.builder().master("local-cluster[2,1,1024]").appName("spark-batchnorm-local-cluster")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.executor.extraClassPath", dependencyJars())
                .config("spark.jars", libraryJar().toString())
                .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                // The first job waits for both executors, so that work is spread over both from the start.
                .config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
                .getOrCreate();
        cluster.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
                TASK_EXECUTORS.add(taskEnd.taskInfo().executorId());
            }
        });
    }

    @AfterAll
    static void stopTheCluster() {
        if (cluster != null) {
            cluster.stop();
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
    }

    /**
     * The test classpath's jars (Spark and its dependencies) without the class directories, so that executors cannot
     * find the library anywhere but in the shipped jar.
     */
    private static String dependencyJars() {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return Arrays.stream(classPath.split(File.pathSeparator))
                .filter(entry -> entry.endsWith(".jar") && Files.isRegularFile(Path.of(entry)))
                .collect(Collectors.joining(File.pathSeparator));
    }

    /** The library as an application jar: the packaged jar if the classes come from one, else one made from them. */
    private static Path libraryJar() throws IOException, URISyntaxException {
        Path classes = Path.of(BatchNormalization.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (Files.isRegularFile(classes)) {
            return classes;
        }
        Path jar = directory.resolve("spark-batchnorm-under-test.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
                Stream<Path> files = Files.walk(classes)) {
            for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                out.putNextEntry(new JarEntry(classes.relativize(file).toString().replace(File.separatorChar, '/')));
                Files.copy(file, (OutputStream) out);
                out.closeEntry();
            }
        }
        return jar;
    }

    private static Dataset<Row> scalarTable(SparkSession spark) {
        List<Row> rows = new ArrayList<>(ROWS);
        for (int r = 0; r < ROWS; r++) {
            double[] x = SCALAR_VALUES[r];
            rows.add(RowFactory.create((long) r, x[0], x[1], x[2], x[3], WEIGHTS[r]));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType);
        for (String column : SCALARS) {
            schema = schema.add(column, DataTypes.DoubleType);
        }
        return spark.createDataFrame(rows, schema.add("w", DataTypes.DoubleType)).repartition(PARTITIONS);
    }

    private static double[][] vectorOutput(Transformer model, Dataset<Row> data, String column) {
        double[][] output = new double[ROWS][];
        for (Row row : model.transform(data).select("id", column).collectAsList()) {
            output[(int) row.getLong(0)] = ((Vector) row.get(1)).toArray();
        }
        return output;
    }

    private static double[][] scalarOutput(Dataset<Row> transformed) {
        double[][] output = new double[ROWS][SCALARS_OUT.length];
        for (Row row : transformed.collectAsList()) {
            for (int j = 0; j < SCALARS_OUT.length; j++) {
                output[(int) row.getLong(row.fieldIndex("id"))][j] = row.getDouble(row.fieldIndex(SCALARS_OUT[j]));
            }
        }
        return output;
    }

    /** Runs the computation on the cluster and checks it against local mode's run, to 1e-12 relative. */
    private static Outcome assertSameAsLocalMode(Computation computation) throws IOException {
        Outcome onCluster = computation.run(cluster, directory.resolve("cluster"));
        Outcome local = LOCAL_MODE.get(computation);
        FeatureStatistics expected = local.statistics();
        FeatureStatistics actual = onCluster.statistics();
        assertEquals(expected.rowCount(), actual.rowCount(), "rows");
        assertArrayEquals(expected.count(), actual.count(), "per-feature counts");
        double[] variance = expected.variance(VarianceMode.POPULATION);
        for (int j = 0; j < expected.numFeatures(); j++) {
            assertRelative(expected.weightSum()[j], actual.weightSum()[j], TIGHT, "weight of feature " + j);
            assertClose(expected.mean()[j], actual.mean()[j], TIGHT, Math.sqrt(variance[j]), "mean of feature " + j);
            assertRelative(variance[j], actual.variance(VarianceMode.POPULATION)[j], TIGHT, "variance of feature " + j);
        }
        for (int r = 0; r < ROWS; r++) {
            for (int j = 0; j < local.output()[r].length; j++) {
                assertClose(local.output()[r][j], onCluster.output()[r][j], TIGHT, 1.0, "row " + r + " feature " + j);
            }
        }
        return onCluster;
    }

    private static void assertMatchesTheReference(ExactReference reference, FeatureStatistics statistics) {
        for (int j = 0; j < statistics.numFeatures(); j++) {
            double variance = reference.populationVariance(j);
            assertClose(reference.mean(j), statistics.mean()[j], TIGHT, Math.sqrt(variance), "reference mean " + j);
            assertRelative(variance, statistics.variance(VarianceMode.POPULATION)[j], TIGHT, "reference variance " + j);
        }
    }

    @Test
    void denseVectorsFitAndTransformAsInLocalModeAndAsTheReference() throws IOException {
        Outcome outcome = assertSameAsLocalMode(Computation.DENSE_VECTORS);
        ExactReference reference = ExactReference.of(DENSE);
        assertMatchesTheReference(reference, outcome.statistics());
        for (int r = 0; r < ROWS; r += 7) {
            for (int j = 0; j < DENSE[r].length; j++) {
                assertClose(reference.normalize(j, DENSE[r][j], false, 1e-5, 1.0, 0.0, true, true),
                        outcome.output()[r][j], TIGHT, 1.0, "reference output, row " + r + " feature " + j);
            }
        }
    }

    @Test
    void sparseVectorsFitAndTransformAsInLocalModeAndAsTheReference() throws IOException {
        Outcome outcome = assertSameAsLocalMode(Computation.SPARSE_VECTORS);
        assertMatchesTheReference(ExactReference.of(SPARSE), outcome.statistics());
        assertEquals(ROWS, outcome.statistics().rowCount());
    }

    @Test
    void weightedScalarColumnsFitAndTransformAsInLocalModeAndAsTheReference() throws IOException {
        Outcome outcome = assertSameAsLocalMode(Computation.WEIGHTED_SCALARS);
        ExactReference reference = ExactReference.weighted(SCALAR_VALUES, WEIGHTS);
        assertMatchesTheReference(reference, outcome.statistics());
        for (int j = 0; j < SCALARS.length; j++) {
            assertRelative(reference.sampleVariance(j), outcome.statistics().variance(VarianceMode.SAMPLE)[j], TIGHT,
                    "reference sample variance " + j);
        }
        assertEquals(Arrays.stream(WEIGHTS).filter(w -> w > 0).count(), outcome.statistics().rowCount(),
                "rows of weight zero are not counted");
    }

    @Test
    void exactSummationGivesLocalModesStatisticsBitForBit() throws IOException {
        Outcome local = LOCAL_MODE.get(Computation.EXACT_WEIGHTED_SCALARS);
        Outcome onCluster = Computation.EXACT_WEIGHTED_SCALARS.run(cluster, directory.resolve("cluster"));
        assertEquals(local.statistics(), onCluster.statistics(), "other JVMs, other task order: the same bits");
        assertTrue(Arrays.deepEquals(local.output(), onCluster.output()), "and so the same outputs");
    }

    @Test
    void aModelSavedAndLoadedOnTheClusterTransformsAsInLocalMode() throws IOException {
        assertSameAsLocalMode(Computation.SAVED_AND_LOADED_MODEL);
    }

    @Test
    void aPipelineModelSavedAndLoadedOnTheClusterTransformsAsInLocalMode() throws IOException {
        Outcome outcome = assertSameAsLocalMode(Computation.SAVED_AND_LOADED_PIPELINE);
        assertMatchesTheReference(ExactReference.of(SCALAR_VALUES), outcome.statistics());
    }

    @Test
    void aModelSavedInLocalModeLoadsOnTheClusterAndTransformsBitForBit() {
        BatchNormalizationModel loaded = BatchNormalizationModel.load(directory.resolve("local/model").toString());
        Outcome local = LOCAL_MODE.get(Computation.SAVED_AND_LOADED_MODEL);
        assertEquals(local.statistics(), loaded.statistics());
        double[][] output = vectorOutput(loaded, SparkTestSession.vectors(cluster, DENSE, false, PARTITIONS), "y");
        // Same coefficients, same per-value arithmetic: the JVM a row lands in changes nothing.
        assertTrue(Arrays.deepEquals(local.output(), output), "identical outputs");
    }

    @Test
    void tasksRunInBothExecutorJvmsAndNeverInTheDriver() throws IOException, InterruptedException {
        assertEquals(3, cluster.sparkContext().statusTracker().getExecutorInfos().length, "the driver and 2 executors");
        Computation.DENSE_VECTORS.run(cluster, directory.resolve("cluster"));
        // Listener events arrive asynchronously; both executors have run tasks once their task-end events are in.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (TASK_EXECUTORS.size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(Set.of("0", "1"), Set.copyOf(TASK_EXECUTORS), "executors that ran tasks");
        assertFalse(TASK_EXECUTORS.contains("driver"));
    }
}
