package io.github.batchnorm;

import io.github.batchnorm.spark.FeatureInput;
import io.github.batchnorm.spark.FitSettings;
import io.github.batchnorm.spark.GroupedSummaryAggregation;
import io.github.batchnorm.spark.SummaryAggregation;
import io.github.batchnorm.stats.FeatureStatistics;
import io.github.batchnorm.stats.FeatureAccumulator;
import java.util.Optional;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.types.StructType;

/**
 * Batch normalisation as a Spark ML estimator: fits, per feature, the mean and variance of a Vector or array column, or of
 * several numeric columns, in one pass and
 * returns a {@link BatchNormalizationModel} that maps each value to
 * {@code gamma * (x - mean) / sqrt(variance + epsilon) + beta}.
 *
 * <p>Each partition summarises its rows into one O(features) summary, and the summaries are merged with
 * {@code treeAggregate} at {@link #getAggregationDepth() aggregationDepth}; no row reaches the driver. Params are
 * validated against the schema before any job runs. Saved with Spark ML's default params format, so
 * {@code Pipeline.load} restores it.
 */
public final class BatchNormalization extends Estimator<BatchNormalizationModel>
        implements BatchNormalizationParams<BatchNormalization>, DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final ParamDefinitions paramDefinitions;

    public BatchNormalization() {
        this(Identifiable$.MODULE$.randomUID("batchNorm"));
    }

    /** Creates an estimator with a given uid; Spark's {@code copy} and persistence use this constructor. */
    public BatchNormalization(String uid) {
        this.uid = uid;
        this.paramDefinitions = new ParamDefinitions(this);
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public ParamDefinitions paramDefinitions() {
        return paramDefinitions;
    }

    /**
     * Fits the statistics of the input column.
     *
     * @throws IllegalArgumentException on a missing or mistyped input column, an existing output column, gamma or beta of
     *     the wrong length, an empty dataset, rows of different sizes, an invalid value under {@code handleInvalid=error},
     *     an invalid weight, or statistics that are not finite
     */
    @Override
    public BatchNormalizationModel fit(Dataset<?> dataset) {
        return fit(dataset, false).orElseThrow();
    }

    /**
     * {@link #fit(Dataset)}, or nothing when the dataset has no row of positive weight (an empty streaming micro-batch),
     * instead of failing.
     */
    Optional<BatchNormalizationModel> fitIfAny(Dataset<?> dataset) {
        return fit(dataset, true);
    }

    private Optional<BatchNormalizationModel> fit(Dataset<?> dataset, boolean emptyAllowed) {
        FeatureInput input = StageSettings.resolve(this, dataset.schema(), true);
        double[] gamma = getGamma();
        double[] beta = getBeta();
        input.validateAndTransformSchema(dataset.schema(), FeatureInput.UNKNOWN_SIZE, gamma, beta);
        FitSettings settings;
        if (gamma.length > 0) {
            settings = StageSettings.fitSettings(this, input, gamma.length, FitSettings.SizeSource.GAMMA);
        } else if (beta.length > 0) {
            settings = StageSettings.fitSettings(this, input, beta.length, FitSettings.SizeSource.BETA);
        } else {
            settings = StageSettings.fitSettings(this, input, FeatureInput.UNKNOWN_SIZE, FitSettings.SizeSource.DATA);
        }
        StructType groupFields = StageSettings.groupFields(this, dataset.schema());
        if (groupFields != null) {
            GroupedSummaryAggregation.Result grouped = GroupedSummaryAggregation.fit(dataset, settings, groupFields);
            if (grouped.groups() == null) {
                if (emptyAllowed) {
                    return Optional.empty();
                }
                SummaryAggregation.statistics(settings.summation().newAccumulator(), settings);
            }
            BatchNormalizationModel model = new BatchNormalizationModel(uid, grouped.global(), grouped.groups())
                    .setParent(this);
            return Optional.of(copyValues(model, new ParamMap()));
        }
        FeatureAccumulator summary = SummaryAggregation.summarize(dataset, settings);
        if (emptyAllowed && summary.count() == 0) {
            return Optional.empty();
        }
        FeatureStatistics statistics = SummaryAggregation.statistics(summary, settings);
        BatchNormalizationModel model = new BatchNormalizationModel(uid, statistics).setParent(this);
        return Optional.of(copyValues(model, new ParamMap()));
    }

    @Override
    public StructType transformSchema(StructType schema) {
        StageSettings.groupFields(this, schema);
        return StageSettings.resolve(this, schema, true)
                .validateAndTransformSchema(schema, FeatureInput.UNKNOWN_SIZE, getGamma(), getBeta());
    }

    @Override
    public BatchNormalization copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** Reads an estimator saved with {@code write().save(path)}. */
    public static MLReader<BatchNormalization> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads an estimator saved with {@code save(path)}. */
    public static BatchNormalization load(String path) {
        return read().load(path);
    }

    @Override
    public String toString() {
        return "BatchNormalization: uid=" + uid + ", inputCol=" + getInputCol() + ", outputCol=" + getOutputCol();
    }
}
