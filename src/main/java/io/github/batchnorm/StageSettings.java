package io.github.batchnorm;

import io.github.batchnorm.spark.FeatureInput;
import io.github.batchnorm.spark.FitSettings;
import org.apache.spark.sql.types.StructType;

/**
 * Reads either stage's params into the values the work needs: the column params into a resolved {@link FeatureInput},
 * checking single- against multi-column params the way Spark's {@code Imputer} does ({@code inputCol} xor
 * {@code inputCols}, outputs to match), and a fit's params into one {@link FitSettings}.
 */
final class StageSettings {
    private StageSettings() {
    }

    /** The stage's input and output column names, checked against each other. */
    private record Columns(String[] inputs, String[] outputs, boolean multiColumn) {
    }

    private static Columns columns(BatchNormalizationParams<?> stage) {
        boolean multiColumn = stage.isSet(stage.inputCols());
        if (multiColumn) {
            if (stage.isSet(stage.inputCol())) {
                throw new IllegalArgumentException("Set either inputCol or inputCols, not both.");
            }
            if (stage.isSet(stage.outputCol())) {
                throw new IllegalArgumentException("Param outputCol goes with inputCol; with inputCols set outputCols.");
            }
            String[] inputs = stage.getInputCols();
            if (inputs.length == 0) {
                throw new IllegalArgumentException("Param inputCols must name at least one column.");
            }
            if (!stage.isSet(stage.outputCols())) {
                throw new IllegalArgumentException("Param outputCols must be set when inputCols is: one output column"
                        + " per input column.");
            }
            String[] outputs = stage.getOutputCols();
            if (outputs.length != inputs.length) {
                throw new IllegalArgumentException("Params inputCols and outputCols must have the same length, but"
                        + " inputCols has " + inputs.length + " columns and outputCols has " + outputs.length + ".");
            }
            return new Columns(inputs, outputs, true);
        }
        if (stage.isSet(stage.outputCols())) {
            throw new IllegalArgumentException("Param outputCols goes with inputCols; with inputCol set outputCol.");
        }
        return new Columns(new String[] {stage.getInputCol()}, new String[] {stage.getOutputCol()}, false);
    }

    private static String weightCol(BatchNormalizationParams<?> stage) {
        return stage.getWeightCol().isEmpty() ? null : stage.getWeightCol();
    }

    /**
     * @param withWeight whether the weight column takes part (fit) or not (transform, where scoring data need not have it)
     */
    static FeatureInput resolve(BatchNormalizationParams<?> stage, StructType schema, boolean withWeight) {
        Columns columns = columns(stage);
        return FeatureInput.resolve(schema, columns.inputs(), columns.outputs(), columns.multiColumn(),
                withWeight ? weightCol(stage) : null);
    }

    /**
     * The settings of a fit's pass over data whose input and weight columns are {@code input}, with the stage's
     * handleInvalid, summation and aggregation depth.
     */
    static FitSettings fitSettings(BatchNormalizationParams<?> stage, FeatureInput input, int requiredSize,
            FitSettings.SizeSource requiredBy) {
        return FitSettings.of(input, stage.getHandleInvalid(), stage.getSummation(), stage.getAggregationDepth(),
                requiredSize, requiredBy);
    }

    /** The input and weight columns of a dataset that statistics are read from but that is not transformed. */
    static FeatureInput resolveInputs(BatchNormalizationParams<?> stage, StructType schema) {
        Columns columns = columns(stage);
        return FeatureInput.resolveInputs(schema, columns.inputs(), columns.multiColumn(), weightCol(stage));
    }

    /**
     * The inverse transform's columns: it reads the stage's output columns and writes {@code restored}, or the stage's
     * input columns when {@code restored} is empty.
     */
    static FeatureInput resolveInverse(BatchNormalizationParams<?> stage, StructType schema, String[] restored) {
        Columns columns = columns(stage);
        String[] targets = columns.inputs();
        if (restored.length > 0) {
            if (restored.length != targets.length) {
                throw new IllegalArgumentException("inverseTransform needs one restored column name per input column, but"
                        + " got " + restored.length + " for " + targets.length + ".");
            }
            targets = restored.clone();
        }
        try {
            return FeatureInput.resolve(schema, columns.outputs(), targets, columns.multiColumn(), null);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("inverseTransform reads the normalised " + (columns.multiColumn()
                    ? "outputCols" : "outputCol") + " and writes " + (restored.length > 0 ? "the restored columns"
                    : columns.multiColumn() ? "inputCols" : "inputCol") + ": " + e.getMessage(), e);
        }
    }

    /**
     * The group columns' fields in {@code schema}, or null when {@code groupCols} is empty; checked against the stage's
     * input, weight and output columns.
     */
    static StructType groupFields(BatchNormalizationParams<?> stage, StructType schema) {
        String[] groupCols = stage.getGroupCols();
        if (groupCols.length == 0) {
            return null;
        }
        Columns columns = columns(stage);
        java.util.List<String> used = new java.util.ArrayList<>(java.util.Arrays.asList(columns.inputs()));
        used.addAll(java.util.Arrays.asList(columns.outputs()));
        if (weightCol(stage) != null) {
            used.add(weightCol(stage));
        }
        return io.github.batchnorm.spark.GroupColumns.resolve(schema, groupCols, used);
    }
}
