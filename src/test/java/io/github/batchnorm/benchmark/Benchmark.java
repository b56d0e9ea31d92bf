package io.github.batchnorm.benchmark;

import io.github.batchnorm.BatchNormalization;
import io.github.batchnorm.BatchNormalizationModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import io.github.batchnorm.stats.FastFeatureSummary;
import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.util.BitSet;
import org.apache.spark.ml.feature.FeatureHasher;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.unsafe.Platform;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Measures {@code BatchNormalization} against its peers in one run: Spark's {@code StandardScaler}, the scan floor (a job
 * that reads every value of the same cached column through the same access path and only sums it), and, for scalar
 * columns, the plain SQL aggregate and expression. Data is generated in memory with a fixed seed and cached; each
 * contender is warmed up, then the contenders run in alternation, and the medians and their ratios are reported as a
 * markdown table (also written to {@code target/benchmark.md}).
 */
@Command(name = "benchmark", mixinStandardHelpOptions = true,
        description = "BatchNormalization vs StandardScaler vs the scan floor, medians of alternating repetitions.")
public final class Benchmark implements Callable<Integer> {
    /** The shapes of the README's table, and tiny ones for a smoke test. */
    enum Shape {
        DENSE_1M_X_100("dense 1,000,000 x 100", Kind.DENSE, 1_000_000, 100, 1.0),
        DENSE_100K_X_1000("dense 100,000 x 1,000", Kind.DENSE, 100_000, 1_000, 1.0),
        SPARSE_1M_X_10K("sparse 1,000,000 x 10,000, 1% non-zero", Kind.SPARSE, 1_000_000, 10_000, 0.01),
        SCALAR_5M_X_10("5,000,000 rows x 10 scalar columns", Kind.SCALAR, 5_000_000, 10, 1.0),
        SPARSE_100K_X_1M("sparse 100,000 x 1,000,000, 20 non-zeros per row", Kind.SPARSE, 100_000, 1_000_000, 2e-5),
        HASHED_2_20("hashed 200,000 rows x 20 strings to 2^20", Kind.HASHED, 200_000, 1 << 20, 0.0),
        HASHED_2_24("hashed 200,000 rows x 20 strings to 2^24", Kind.HASHED, 200_000, 1 << 24, 0.0),
        HASHED_2_28("hashed 200,000 rows x 20 strings to 2^28", Kind.HASHED, 200_000, 1 << 28, 0.0),
        GROUPED_4M_X_8_10K("4,000,000 rows x 8 columns, 10,000 skewed groups", Kind.GROUPED, 4_000_000, 8, 10_000),
        GROUPED_4M_X_8_1M("4,000,000 rows x 8 columns, 1,000,000 skewed groups", Kind.GROUPED, 4_000_000, 8,
                1_000_000),
        QUICK_DENSE("quick: dense 10,000 x 20", Kind.DENSE, 10_000, 20, 1.0),
        QUICK_SPARSE("quick: sparse 10,000 x 1,000, 1% non-zero", Kind.SPARSE, 10_000, 1_000, 0.01),
        QUICK_SCALAR("quick: 20,000 rows x 5 scalar columns", Kind.SCALAR, 20_000, 5, 1.0),
        PARQUET_4M_X_16("Parquet on disk, 4,000,000 rows x 16 double columns", Kind.PARQUET, 4_000_000, 16, 1.0),
        QUICK_PARQUET("quick: Parquet on disk, 20,000 rows x 4 double columns", Kind.PARQUET, 20_000, 4, 1.0),
        QUICK_GROUPED("quick: 20,000 rows x 4 columns, 500 skewed groups", Kind.GROUPED, 20_000, 4, 500),
        QUICK_HASHED("quick: hashed 10,000 rows x 20 strings to 2^20", Kind.HASHED, 10_000, 1 << 20, 0.0);

        final String label;
        final Kind kind;
        final int rows;
        final int features;
        final double density;
        /** For grouped shapes, the number of groups the rows are spread over. */
        final int groups;

        Shape(String label, Kind kind, int rows, int features, double density) {
            this.label = label;
            this.kind = kind;
            this.rows = rows;
            this.features = features;
            this.density = density;
            this.groups = 0;
        }

        Shape(String label, Kind kind, int rows, int features, int groups) {
            this.label = label;
            this.kind = kind;
            this.rows = rows;
            this.features = features;
            this.density = 1.0;
            this.groups = groups;
        }

        boolean quick() {
            return name().startsWith("QUICK");
        }
    }

    /** PARQUET: the scalar columns written once to Parquet files (and as one array column), read back uncached. */
    enum Kind { DENSE, SPARSE, SCALAR, PARQUET, GROUPED, HASHED }

    /** String columns of the hashed shapes, and the distinct values of each: high-cardinality categories. */
    static final int HASHED_COLUMNS = 20;
    static final int HASHED_CARDINALITY = 100_000;

    @Option(names = "--quick", description = "Tiny shapes only, in seconds.")
    boolean quick;

    @Option(names = "--shape", description = "Only this shape: ${COMPLETION-CANDIDATES}.")
    Shape onlyShape;

    @Option(names = "--repetitions", defaultValue = "5", description = "Timed repetitions per contender (>= 1). Default:"
            + " ${DEFAULT-VALUE}.")
    int repetitions;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed runs per contender first. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--transform-only", description = "Measure the transforms only (the fit still runs once for the"
            + " model).")
    boolean transformOnly;

    @Option(names = "--master", defaultValue = "local[2]", description = "Default: ${DEFAULT-VALUE}.")
    String master;

    @Option(names = "--partitions", defaultValue = "4", description = "Partitions of the cached data (two per core on the"
            + " reference machine). Default: ${DEFAULT-VALUE}.")
    int partitions;

    @Option(names = "--output", defaultValue = "target/benchmark.md", description = "Default: ${DEFAULT-VALUE}.")
    Path output;

    @Option(names = "--without-standard-scaler", description = "Leave StandardScaler out of the hashed shapes: beyond"
            + " about 2^22 features its dense per-task summary does not fit a 2 GB heap, and an executor's out-of-memory"
            + " error ends a local Spark.")
    boolean withoutStandardScaler;

    private SparkSession spark;
    private final List<String> table = new ArrayList<>();

    public static void main(String[] args) {
        if (System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "classpath:io/github/batchnorm/jobs/log4j2-quiet.properties");
        }
        int code = new CommandLine(new Benchmark()).execute(args);
        SparkSession.getDefaultSession().foreach(session -> {
            session.stop();
            return null;
        });
        System.exit(code);
    }

    @Override
    public Integer call() {
        if (quick) {
            // A smoke test of every code path, not a measurement.
            repetitions = Math.min(repetitions, 1);
            warmup = Math.min(warmup, 1);
            partitions = Math.min(partitions, 2);
        }
        if (repetitions < 1 || warmup < 0) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--repetitions must be >= 1 and --warmup >= 0");
        }
        spark = SparkSession.builder().master(master).appName("batchnorm benchmark")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", Integer.toString(partitions))
                .getOrCreate();
        table.add("| shape | task | contender | median seconds | ratio to StandardScaler | ratio to floor |");
        table.add("|---|---|---|---:|---:|---:|");
        for (Shape shape : Shape.values()) {
            if ((onlyShape != null && shape != onlyShape) || (onlyShape == null && shape.quick() != quick)) {
                continue;
            }
            run(shape);
        }
        String header = String.format(Locale.ROOT, "Spark %s, master %s, %d cores, Java %s, %d partitions, median of %d"
                + " alternating repetitions after %d warm-up runs each.%n%n", spark.version(), master,
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), partitions, repetitions,
                warmup);
        String markdown = header + String.join("\n", table) + "\n";
        System.out.print("\n" + markdown);
        try {
            Path parent = output.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Files.writeString(output, markdown, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return 0;
    }

    private void run(Shape shape) {
        System.out.println("Generating " + shape.label + " ...");
        if (shape.kind == Kind.SCALAR) {
            runScalar(shape);
        } else if (shape.kind == Kind.PARQUET) {
            runParquet(shape);
        } else if (shape.kind == Kind.GROUPED) {
            runGrouped(shape);
        } else if (shape.kind == Kind.HASHED) {
            runHashed(shape);
        } else {
            runVector(shape);
        }
    }

    private void runVector(Shape shape) {
        Dataset<Row> data = vectors(shape).persist(StorageLevel.MEMORY_ONLY());
        data.count();
        BatchNormalization batchNorm = new BatchNormalization().setInputCol("features").setOutputCol("normalized");
        StandardScaler scaler = new StandardScaler().setInputCol("features").setOutputCol("normalized")
                .setWithMean(true).setWithStd(true);

        BatchNormalization exact = batchNorm.copy(new org.apache.spark.ml.param.ParamMap()).setSummation("exact");
        Map<String, Runnable> fit = new LinkedHashMap<>();
        fit.put("BatchNormalization.fit", () -> batchNorm.fit(data));
        fit.put("BatchNormalization.fit, summation=exact", () -> exact.fit(data));
        // On clean data, "keep" differs from the default only in checking every value as it is read: its cost.
        BatchNormalization checking = batchNorm.copy(new org.apache.spark.ml.param.ParamMap()).setHandleInvalid("keep");
        fit.put("BatchNormalization.fit, handleInvalid=keep", () -> checking.fit(data));
        fit.put("StandardScaler.fit", () -> scaler.fit(data));
        fit.put("scan floor (sum every value)", () -> scanFloor(data));
        if (!transformOnly) {
            report(shape, "fit", measure(fit), "StandardScaler.fit", "scan floor (sum every value)");
        }

        // Centring makes sparse vectors dense, so sparse data is transformed the way it is used: scaled, not centred.
        boolean center = shape.kind != Kind.SPARSE;
        BatchNormalizationModel ours = batchNorm.fit(data).setCenter(center);
        StandardScalerModel theirs = scaler.setWithMean(center).fit(data);
        Map<String, Runnable> transform = new LinkedHashMap<>();
        transform.put("BatchNormalizationModel.transform", () -> noop(ours.transform(data)));
        transform.put("StandardScalerModel.transform", () -> noop(theirs.transform(data)));
        // What any function of a Vector column pays before doing anything: Spark deserialises and serialises the vector.
        UserDefinedFunction identity = functions.udf(new SameVector(), SQLDataTypes.VectorType());
        transform.put("Vector UDF returning its input", () -> noop(data.withColumn("normalized",
                identity.apply(functions.col("features")))));
        transform.put("column unchanged (floor)", () -> noop(data.withColumn("normalized", functions.col("features"))));
        report(shape, center ? "transform to noop" : "transform to noop (scale only)", measure(transform),
                "StandardScalerModel.transform", "column unchanged (floor)");
        data.unpersist(true);
    }

    private void runScalar(Shape shape) {
        Dataset<Row> data = scalars(shape).persist(StorageLevel.MEMORY_ONLY());
        data.count();
        String[] inputs = data.columns();
        String[] outputs = Arrays.stream(inputs).map(name -> name + "_bn").toArray(String[]::new);
        BatchNormalization batchNorm = new BatchNormalization().setInputCols(inputs).setOutputCols(outputs);
        List<Column> aggregates = new ArrayList<>();
        for (String input : inputs) {
            aggregates.add(functions.avg(input));
            aggregates.add(functions.var_pop(input));
        }
        Column[] aggregateColumns = aggregates.toArray(new Column[0]);

        BatchNormalization exact = batchNorm.copy(new org.apache.spark.ml.param.ParamMap()).setSummation("exact");
        Map<String, Runnable> fit = new LinkedHashMap<>();
        fit.put("BatchNormalization.fit", () -> batchNorm.fit(data));
        fit.put("BatchNormalization.fit, summation=exact", () -> exact.fit(data));
        fit.put("SQL avg + var_pop (floor)", () -> data.select(aggregateColumns).collectAsList());
        if (!transformOnly) {
            report(shape, "fit", measure(fit), null, "SQL avg + var_pop (floor)");
        }

        BatchNormalizationModel model = batchNorm.fit(data);
        Column[] plainColumns = plainScalarTransform(model, inputs, outputs);
        Map<String, Runnable> transform = new LinkedHashMap<>();
        transform.put("BatchNormalizationModel.transform", () -> noop(model.transform(data)));
        transform.put("plain (c - m) * a + b (floor)", () -> noop(data.select(plainColumns)));
        report(shape, "transform to noop", measure(transform), null, "plain (c - m) * a + b (floor)");
        data.unpersist(true);
    }

    /**
     * The transform where reading is cheap no more: Parquet files on disk, not cached, as a table is usually read. The
     * same values as scalar columns and as one array column; the floors are the plain expressions, the contender the
     * {@code VectorAssembler} + {@code StandardScaler} pipeline users write for scalar columns.
     */
    private void runParquet(Shape shape) {
        Path directory;
        try {
            directory = Files.createTempDirectory("batchnorm-benchmark");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            String scalarPath = directory.resolve("scalars").toString();
            String arrayPath = directory.resolve("array").toString();
            Dataset<Row> generated = scalars(shape);
            generated.write().parquet(scalarPath);
            String[] inputs = generated.columns();
            Column[] elements = Arrays.stream(inputs).map(functions::col).toArray(Column[]::new);
            spark.read().parquet(scalarPath).select(functions.array(elements).as("features")).write().parquet(arrayPath);
            runParquetScalars(shape, spark.read().parquet(scalarPath));
            runParquetArray(shape, spark.read().parquet(arrayPath));
        } finally {
            deleteRecursively(directory);
        }
    }

    private void runParquetScalars(Shape shape, Dataset<Row> data) {
        String[] inputs = data.columns();
        String[] outputs = Arrays.stream(inputs).map(name -> name + "_bn").toArray(String[]::new);
        BatchNormalization batchNorm = new BatchNormalization().setInputCols(inputs).setOutputCols(outputs);
        List<Column> aggregates = new ArrayList<>();
        for (String input : inputs) {
            aggregates.add(functions.avg(input));
            aggregates.add(functions.var_pop(input));
        }
        Column[] aggregateColumns = aggregates.toArray(new Column[0]);
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
            new VectorAssembler().setInputCols(inputs).setOutputCol("features"),
            new StandardScaler().setInputCol("features").setOutputCol("normalized").setWithMean(true).setWithStd(true)});
        Map<String, Runnable> fit = new LinkedHashMap<>();
        fit.put("BatchNormalization.fit", () -> batchNorm.fit(data));
        fit.put("VectorAssembler + StandardScaler fit", () -> pipeline.fit(data));
        fit.put("SQL avg + var_pop (floor)", () -> data.select(aggregateColumns).collectAsList());
        if (!transformOnly) {
            report(shape, "fit", measure(fit), null, "SQL avg + var_pop (floor)");
        }

        BatchNormalizationModel model = batchNorm.fit(data);
        BatchNormalizationModel keep = model.copy(new org.apache.spark.ml.param.ParamMap()).setHandleInvalid("keep");
        PipelineModel pipelineModel = pipeline.fit(data);
        Column[] plainColumns = plainScalarTransform(model, inputs, outputs);
        Map<String, Runnable> transform = new LinkedHashMap<>();
        transform.put("BatchNormalizationModel.transform", () -> noop(model.transform(data)));
        transform.put("BatchNormalizationModel.transform, handleInvalid=keep", () -> noop(keep.transform(data)));
        transform.put("VectorAssembler + StandardScalerModel.transform", () -> noop(pipelineModel.transform(data)));
        transform.put("plain (c - m) * a + b (floor)", () -> noop(data.select(plainColumns)));
        report(shape, "transform to noop", measure(transform), null, "plain (c - m) * a + b (floor)");
    }

    private void runParquetArray(Shape shape, Dataset<Row> data) {
        BatchNormalizationModel model = new BatchNormalization().setInputCol("features").setOutputCol("normalized")
                .fit(data);
        BatchNormalizationModel keep = model.copy(new org.apache.spark.ml.param.ParamMap()).setHandleInvalid("keep");
        Column mean = functions.lit(model.coefficients().mean());
        Column scale = functions.lit(model.coefficients().scale());
        Column beta = functions.lit(model.coefficients().beta());
        Column plain = functions.transform(functions.col("features"), (x, i) -> x.minus(mean.apply(i))
                .multiply(scale.apply(i)).plus(beta.apply(i))).as("normalized");
        Map<String, Runnable> transform = new LinkedHashMap<>();
        transform.put("BatchNormalizationModel.transform", () -> noop(model.transform(data)));
        transform.put("BatchNormalizationModel.transform, handleInvalid=keep", () -> noop(keep.transform(data)));
        transform.put("plain transform(x, (c - m) * a + b) (floor)",
                () -> noop(data.select(functions.col("*"), plain)));
        report(shape, "transform to noop (array column)", measure(transform), null,
                "plain transform(x, (c - m) * a + b) (floor)");
    }

    /** The function of the UDF floor: the vector Spark deserialised, handed back. */
    private static final class SameVector implements UDF1<Vector, Vector> {
        private static final long serialVersionUID = 1L;

        @Override
        public Vector call(Vector vector) {
            return vector;
        }
    }

    private static Column[] plainScalarTransform(BatchNormalizationModel model, String[] inputs, String[] outputs) {
        double[] mean = model.coefficients().mean();
        double[] scale = model.coefficients().scale();
        double[] beta = model.coefficients().beta();
        List<Column> plain = new ArrayList<>();
        plain.add(functions.col("*"));
        for (int j = 0; j < inputs.length; j++) {
            plain.add(functions.col(inputs[j]).minus(mean[j]).multiply(scale[j]).plus(beta[j]).as(outputs[j]));
        }
        return plain.toArray(new Column[0]);
    }

    private static void deleteRecursively(Path directory) {
        try (java.util.stream.Stream<Path> paths = Files.walk(directory)) {
            for (Path path : (Iterable<Path>) paths.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.delete(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Per-group normalisation, fit and transform to noop together, against the two ways Spark users write it by hand:
     * window functions, and {@code groupBy.agg(avg, var_pop)} with a broadcast join. Before timing, the largest
     * difference between our output and the window query's is printed (relative, with a floor of 1), and the run fails
     * if it exceeds 1e-9.
     */
    private void runGrouped(Shape shape) {
        Dataset<Row> data = grouped(shape).persist(StorageLevel.MEMORY_ONLY());
        data.count();
        String[] inputs = Arrays.stream(data.columns()).filter(name -> name.startsWith("c")).toArray(String[]::new);
        String[] outputs = Arrays.stream(inputs).map(name -> name + "_bn").toArray(String[]::new);
        BatchNormalization batchNorm = new BatchNormalization().setInputCols(inputs).setOutputCols(outputs)
                .setGroupCols("g");
        double epsilon = batchNorm.getEpsilon();
        org.apache.spark.sql.expressions.WindowSpec window = org.apache.spark.sql.expressions.Window.partitionBy("g");
        List<Column> windowed = new ArrayList<>();
        windowed.add(functions.col("*"));
        List<Column> aggregates = new ArrayList<>();
        List<Column> joined = new ArrayList<>();
        for (String c : data.columns()) {
            joined.add(functions.col(c));
        }
        for (int j = 0; j < inputs.length; j++) {
            Column x = functions.col(inputs[j]);
            windowed.add(x.minus(functions.avg(x).over(window))
                    .divide(functions.sqrt(functions.var_pop(x).over(window).plus(epsilon))).as(outputs[j]));
            aggregates.add(functions.avg(x).as("m" + j));
            aggregates.add(functions.var_pop(x).as("v" + j));
            joined.add(x.minus(functions.col("m" + j)).divide(functions.sqrt(functions.col("v" + j).plus(epsilon)))
                    .as(outputs[j]));
        }
        Column[] windowColumns = windowed.toArray(new Column[0]);
        Column[] joinedColumns = joined.toArray(new Column[0]);
        Column[] aggregateColumns = aggregates.toArray(new Column[0]);

        Dataset<Row> ours = batchNorm.fit(data).transform(data);
        Column[] differences = new Column[inputs.length];
        for (int j = 0; j < inputs.length; j++) {
            Column y = functions.col("o." + outputs[j]);
            Column e = functions.col("w." + outputs[j]);
            differences[j] = functions.max(functions.abs(y.minus(e)).divide(functions.greatest(functions.abs(e),
                    functions.lit(1.0))));
        }
        Row largest = ours.alias("o").join(data.select(windowColumns).alias("w"), "id")
                .agg(functions.greatest(differences)).head();
        System.out.println("Largest difference to the window functions (relative, floor 1): " + largest.get(0));
        if (!(largest.getDouble(0) <= 1e-9)) {
            throw new IllegalStateException("BatchNormalization groupCols differs from the window functions by "
                    + largest.get(0) + ", more than 1e-9");
        }

        Map<String, Runnable> contenders = new LinkedHashMap<>();
        contenders.put("BatchNormalization groupCols fit + transform", () -> noop(batchNorm.fit(data).transform(data)));
        contenders.put("groupBy.agg(avg, var_pop) + broadcast join", () -> noop(data.join(functions.broadcast(
                data.groupBy("g").agg(aggregateColumns[0], Arrays.copyOfRange(aggregateColumns, 1,
                        aggregateColumns.length))), "g").select(joinedColumns)));
        contenders.put("window functions", () -> noop(data.select(windowColumns)));
        report(shape, "fit + transform to noop", measure(contenders), null, "window functions");
        data.unpersist(true);
    }

    /**
     * The click-through shape: {@link #HASHED_COLUMNS} string columns hashed by Spark's {@code FeatureHasher} into
     * {@code shape.features} dimensions, about 20 non-zeros per row, fitted and scaled without centring (centring would
     * make the rows dense). Also reports what one task's summary holds: the features it touched and its serialised
     * bytes per touched feature.
     */
    private void runHashed(Shape shape) {
        String[] columns = new String[HASHED_COLUMNS];
        for (int c = 0; c < columns.length; c++) {
            columns[c] = "s" + c;
        }
        Dataset<Row> strings = hashedStrings(shape, columns);
        Dataset<Row> data = new FeatureHasher().setInputCols(columns).setOutputCol("features")
                .setNumFeatures(shape.features).transform(strings).select("features")
                .persist(StorageLevel.MEMORY_ONLY());
        data.count();
        reportTaskSummary(shape, data);
        BatchNormalization batchNorm = new BatchNormalization().setInputCol("features").setOutputCol("normalized")
                .setCenter(false);
        StandardScaler scaler = new StandardScaler().setInputCol("features").setOutputCol("normalized")
                .setWithMean(false).setWithStd(true);
        // The exact accumulator's tasks hold what they touched too: its cost against the fast fit at this width.
        BatchNormalization exact = batchNorm.copy(new org.apache.spark.ml.param.ParamMap()).setSummation("exact");
        Map<String, Runnable> fit = new LinkedHashMap<>();
        fit.put("BatchNormalization.fit", () -> batchNorm.fit(data));
        fit.put("BatchNormalization.fit, summation=exact", () -> exact.fit(data));
        if (!withoutStandardScaler) {
            fit.put("StandardScaler.fit", () -> scaler.fit(data));
        }
        fit.put("scan floor (sum every value)", () -> scanFloor(data));
        report(shape, "fit", measure(fit), withoutStandardScaler ? null : "StandardScaler.fit",
                "scan floor (sum every value)");

        BatchNormalizationModel ours = batchNorm.fit(data);
        reportModelSize(shape, ours);
        Map<String, Runnable> transform = new LinkedHashMap<>();
        transform.put("BatchNormalizationModel.transform", () -> noop(ours.transform(data)));
        if (!withoutStandardScaler) {
            StandardScalerModel theirs = scaler.fit(data);
            transform.put("StandardScalerModel.transform", () -> noop(theirs.transform(data)));
        }
        transform.put("column unchanged (floor)", () -> noop(data.withColumn("normalized", functions.col("features"))));
        report(shape, "transform to noop (scale only)", measure(transform),
                withoutStandardScaler ? null : "StandardScalerModel.transform", "column unchanged (floor)");
        data.unpersist(true);
    }

    /**
     * Reports how many features the fitted model stores (the others follow the rule of features zero in every row) and
     * the size of the saved model, written to a temporary folder and deleted.
     */
    private void reportModelSize(Shape shape, BatchNormalizationModel model) {
        Path folder;
        long bytes;
        try {
            folder = Files.createTempDirectory("batchnorm-benchmark-model");
            String path = folder.resolve("model").toString();
            model.save(path);
            try (var files = Files.walk(folder)) {
                bytes = files.filter(Files::isRegularFile).mapToLong(file -> file.toFile().length()).sum();
            }
            try (var files = Files.walk(folder)) {
                for (Path file : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(file);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String row = String.format(Locale.ROOT, "| %s | model | %,d of %,d features stored | saved model %,d bytes"
                + " | | |", shape.label, model.statistics().storedFeatureCount(), model.numFeatures(), bytes);
        table.add(row);
        System.out.println(row);
    }

    /** Rows of string columns, each value one of {@link #HASHED_CARDINALITY} per column, from a fixed seed. */
    private Dataset<Row> hashedStrings(Shape shape, String[] columns) {
        List<Column> values = new ArrayList<>();
        for (int c = 0; c < columns.length; c++) {
            values.add(functions.concat(functions.lit("c" + c + "_"), functions.floor(functions.rand(100 + c)
                    .multiply(HASHED_CARDINALITY)).cast("long").cast("string")).as(columns[c]));
        }
        return spark.range(0, shape.rows, 1, partitions).select(values.toArray(new Column[0]));
    }

    /**
     * Folds each partition into a fast summary, as a fit's task does, and reports the largest task's touched features,
     * its serialised size (what Spark ships to the driver) and that size per touched feature.
     */
    private void reportTaskSummary(Shape shape, Dataset<Row> data) {
        int features = shape.features;
        List<long[]> perTask = data.javaRDD().mapPartitions(rows -> {
            FastFeatureSummary summary = new FastFeatureSummary();
            BitSet touched = new BitSet();
            while (rows.hasNext()) {
                SparseVector vector = ((Vector) rows.next().get(0)).toSparse();
                summary.addSparse(features, vector.indices(), vector.values(), vector.indices().length, 1.0);
                for (int index : vector.indices()) {
                    touched.set(index);
                }
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(summary);
            }
            return List.of(new long[] {touched.cardinality(), bytes.size()}).iterator();
        }).collect();
        long[] largest = perTask.stream().max(java.util.Comparator.comparingLong(task -> task[1])).orElseThrow();
        String row = String.format(Locale.ROOT, "| %s | task summary | largest of %d tasks: %,d touched features, %,d"
                + " bytes serialised | %.1f bytes per touched feature | | |", shape.label, perTask.size(), largest[0],
                largest[1], (double) largest[1] / largest[0]);
        table.add(row);
        System.out.println(row);
    }

    /** Warm-up runs of each contender, then rounds in which every contender runs once; returns the medians. */
    private Map<String, Double> measure(Map<String, Runnable> contenders) {
        for (Runnable contender : contenders.values()) {
            for (int i = 0; i < warmup; i++) {
                contender.run();
            }
        }
        Map<String, List<Double>> seconds = new LinkedHashMap<>();
        contenders.keySet().forEach(name -> seconds.put(name, new ArrayList<>()));
        for (int round = 0; round < repetitions; round++) {
            for (Map.Entry<String, Runnable> contender : contenders.entrySet()) {
                long started = System.nanoTime();
                contender.getValue().run();
                seconds.get(contender.getKey()).add((System.nanoTime() - started) / 1e9);
            }
        }
        Map<String, Double> medians = new LinkedHashMap<>();
        seconds.forEach((name, times) -> medians.put(name, median(times)));
        return medians;
    }

    private void report(Shape shape, String task, Map<String, Double> medians, String peer, String floor) {
        for (Map.Entry<String, Double> result : medians.entrySet()) {
            String toPeer = peer == null ? "" : String.format(Locale.ROOT, "%.2f", result.getValue() / medians.get(peer));
            String toFloor = String.format(Locale.ROOT, "%.2f", result.getValue() / medians.get(floor));
            String row = String.format(Locale.ROOT, "| %s | %s | %s | %.3f | %s | %s |", shape.label, task,
                    result.getKey(), result.getValue(), toPeer, toFloor);
            table.add(row);
            System.out.println(row);
        }
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private static void noop(Dataset<Row> result) {
        result.write().format("noop").mode("overwrite").save();
    }

    /**
     * Reads every stored value of the Vector column the way the fit does, and only sums it: the query's internal rows,
     * one reusable struct and array view pointed at each row's bytes, the values copied in bulk into a reusable buffer.
     * Written here with Spark's own row classes, so the floor does not depend on the library's code.
     */
    private static double scanFloor(Dataset<Row> data) {
        return data.select("features").queryExecution().toRdd().toJavaRDD().mapPartitions(rows -> {
            double[] buffer = new double[0];
            double sum = 0;
            UnsafeRow vector = new UnsafeRow(4);
            UnsafeArrayData values = new UnsafeArrayData();
            while (rows.hasNext()) {
                UnsafeRow row = (UnsafeRow) rows.next();
                long vectorAt = row.getLong(0);
                vector.pointTo(row.getBaseObject(), row.getBaseOffset() + (vectorAt >> 32), (int) vectorAt);
                long valuesAt = vector.getLong(3);
                values.pointTo(vector.getBaseObject(), vector.getBaseOffset() + (valuesAt >> 32), (int) valuesAt);
                int n = values.numElements();
                if (buffer.length != n) {
                    buffer = new double[n];
                }
                Platform.copyMemory(values.getBaseObject(), values.getBaseOffset()
                        + UnsafeArrayData.calculateHeaderPortionInBytes(n), buffer, Platform.DOUBLE_ARRAY_OFFSET, 8L * n);
                for (int i = 0; i < n; i++) {
                    sum += buffer[i];
                }
            }
            return java.util.List.of(sum).iterator();
        }).reduce(Double::sum);
    }

    /** Vector rows, generated per partition from a seed, so the data is the same on every run. */
    private Dataset<Row> vectors(Shape shape) {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Integer> slices = new ArrayList<>();
        for (int i = 0; i < partitions; i++) {
            slices.add(i);
        }
        int rows = shape.rows;
        int features = shape.features;
        double density = shape.density;
        boolean sparse = shape.kind == Kind.SPARSE;
        int partitionCount = partitions;
        JavaRDD<Row> generated = context.parallelize(slices, partitions).flatMap(slice -> {
            SplittableRandom random = new SplittableRandom(1_000_003L * slice + 17);
            int count = rows / partitionCount + (slice < rows % partitionCount ? 1 : 0);
            List<Row> out = new ArrayList<>(count);
            for (int r = 0; r < count; r++) {
                if (sparse) {
                    int stored = (int) Math.round(features * density);
                    int[] indices = random.ints(0, features).distinct().limit(stored).sorted().toArray();
                    double[] values = new double[indices.length];
                    for (int k = 0; k < values.length; k++) {
                        values[k] = 1 + indices[k] % 7 + random.nextDouble();
                    }
                    out.add(RowFactory.create(Vectors.sparse(features, indices, values)));
                } else {
                    double[] values = new double[features];
                    for (int j = 0; j < features; j++) {
                        values[j] = (j % 10) * 100 + (1 + j % 5) * random.nextDouble();
                    }
                    out.add(RowFactory.create(Vectors.dense(values)));
                }
            }
            return out.iterator();
        });
        return spark.createDataFrame(generated, new StructType().add("features", SQLDataTypes.VectorType()));
    }

    /**
     * An id, a group {@code g} skewed towards small ids (the square of a uniform number, so group 0 has about 1% of the
     * rows with 10,000 groups), and double columns c0..c{n-1} whose offsets depend on the group.
     */
    private Dataset<Row> grouped(Shape shape) {
        List<Column> columns = new ArrayList<>();
        columns.add(functions.col("id"));
        columns.add(functions.floor(functions.pow(functions.rand(99), 2).multiply(shape.groups)).cast("long").as("g"));
        for (int j = 0; j < shape.features; j++) {
            columns.add(functions.rand(j).multiply(1 + j).plus(100.0 * j).as("c" + j));
        }
        Dataset<Row> base = spark.range(0, shape.rows, 1, partitions).select(columns.toArray(new Column[0]));
        List<Column> offset = new ArrayList<>();
        offset.add(functions.col("id"));
        offset.add(functions.col("g"));
        for (int j = 0; j < shape.features; j++) {
            offset.add(functions.col("c" + j).plus(functions.col("g").mod(97).multiply(j + 1)).as("c" + j));
        }
        return base.select(offset.toArray(new Column[0]));
    }

    /** Double columns c0..c{n-1} with different offsets and scales. */
    private Dataset<Row> scalars(Shape shape) {
        List<Column> columns = new ArrayList<>();
        for (int j = 0; j < shape.features; j++) {
            columns.add(functions.rand(j).multiply(1 + j).plus(100.0 * j).as("c" + j));
        }
        return spark.range(0, shape.rows, 1, partitions).select(columns.toArray(new Column[0]));
    }
}
