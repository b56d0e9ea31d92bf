package io.github.batchnorm;

import io.github.batchnorm.spark.FeatureInput;
import org.apache.spark.sql.types.StructType;

/**
 * Turns the column params of either stage into a resolved {@link FeatureInput}, checking single- against multi-column
 * params the way Spark's {@code Imputer} does: {@code inputCol} xor {@code inputCols}, outputs to match.
 */
final class StageColumns {
    private StageColumns() {
    }

    /**
     * @param withWeight whether the weight column takes part (fit) or not (transform, where scoring data need not have it)
     */
    static FeatureInput resolve(BatchNormalizationParams<?> stage, StructType schema, boolean withWeight) {
        String[] inputs;
        String[] outputs;
        boolean multiColumn = stage.isSet(stage.inputCols());
        if (multiColumn) {
            if (stage.isSet(stage.inputCol())) {
                throw new IllegalArgumentException("Set either inputCol or inputCols, not both.");
            }
            if (stage.isSet(stage.outputCol())) {
                throw new IllegalArgumentException("Param outputCol goes with inputCol; with inputCols set outputCols.");
            }
            inputs = stage.getInputCols();
            if (inputs.length == 0) {
                throw new IllegalArgumentException("Param inputCols must name at least one column.");
            }
            if (!stage.isSet(stage.outputCols())) {
                throw new IllegalArgumentException("Param outputCols must be set when inputCols is: one output column"
                        + " per input column.");
            }
            outputs = stage.getOutputCols();
            if (outputs.length != inputs.length) {
                throw new IllegalArgumentException("Params inputCols and outputCols must have the same length, but"
                        + " inputCols has " + inputs.length + " columns and outputCols has " + outputs.length + ".");
            }
        } else {
            if (stage.isSet(stage.outputCols())) {
                throw new IllegalArgumentException("Param outputCols goes with inputCols; with inputCol set outputCol.");
            }
            inputs = new String[] {stage.getInputCol()};
            outputs = new String[] {stage.getOutputCol()};
        }
        String weightCol = withWeight && !stage.getWeightCol().isEmpty() ? stage.getWeightCol() : null;
        return FeatureInput.resolve(schema, inputs, outputs, multiColumn, weightCol);
    }
}
