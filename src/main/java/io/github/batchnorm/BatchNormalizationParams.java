package io.github.batchnorm;

import io.github.batchnorm.stats.VarianceMode;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;

/**
 * The params shared by {@link BatchNormalization} and {@link BatchNormalizationModel}, with their getters and chaining
 * setters, as Spark's {@code StandardScalerParams} does for its pair. Each param's name, doc (ending in its default) and
 * validator are declared once, in the stages' param declarations; this interface only exposes them. Read a param's doc
 * with {@code explainParam(param)}, or all of them with {@code explainParams()}; the README's param table is checked
 * against them by a test.
 *
 * @param <S> the implementing stage, so that setters chain with its own type
 */
public interface BatchNormalizationParams<S extends BatchNormalizationParams<S>> extends Params {

    /** The stage's param declarations. Internal: use the typed accessors below. */
    ParamDefinitions paramDefinitions();

    /** The {@code inputCol} param. */
    default Param<String> inputCol() {
        return paramDefinitions().inputCol;
    }

    /** The {@code outputCol} param. */
    default Param<String> outputCol() {
        return paramDefinitions().outputCol;
    }

    /** The {@code inputCols} param. */
    default StringArrayParam inputCols() {
        return paramDefinitions().inputCols;
    }

    /** The {@code outputCols} param. */
    default StringArrayParam outputCols() {
        return paramDefinitions().outputCols;
    }

    /** The {@code weightCol} param. */
    default Param<String> weightCol() {
        return paramDefinitions().weightCol;
    }

    /** The {@code handleInvalid} param. */
    default Param<String> handleInvalid() {
        return paramDefinitions().handleInvalid;
    }

    /** The {@code epsilon} param. */
    default DoubleParam epsilon() {
        return paramDefinitions().epsilon;
    }

    /** The {@code center} param. */
    default BooleanParam center() {
        return paramDefinitions().center;
    }

    /** The {@code scale} param. */
    default BooleanParam scale() {
        return paramDefinitions().scale;
    }

    /** The {@code gamma} param. */
    default DoubleArrayParam gamma() {
        return paramDefinitions().gamma;
    }

    /** The {@code beta} param. */
    default DoubleArrayParam beta() {
        return paramDefinitions().beta;
    }

    /** The {@code varianceMode} param. */
    default Param<String> varianceMode() {
        return paramDefinitions().varianceMode;
    }

    /** The {@code aggregationDepth} param. */
    default IntParam aggregationDepth() {
        return paramDefinitions().aggregationDepth;
    }

    /** The {@code summation} param. */
    default Param<String> summation() {
        return paramDefinitions().summation;
    }

    default String getSummation() {
        return getOrDefault(summation());
    }

    /** Sets how the fit sums: {@code "fast"} or {@code "exact"}. */
    default S setSummation(String value) {
        set(summation(), value);
        return self();
    }

    /** The {@code momentum} param. */
    default DoubleParam momentum() {
        return paramDefinitions().momentum;
    }

    default String getInputCol() {
        return getOrDefault(inputCol());
    }

    default String getOutputCol() {
        return getOrDefault(outputCol());
    }

    /** The scalar input columns, or an empty array when not set. */
    default String[] getInputCols() {
        return isDefined(inputCols()) ? getOrDefault(inputCols()).clone() : new String[0];
    }

    /** The scalar output columns, or an empty array when not set. */
    default String[] getOutputCols() {
        return isDefined(outputCols()) ? getOrDefault(outputCols()).clone() : new String[0];
    }

    /** The weight column, or an empty string when rows are unweighted. */
    default String getWeightCol() {
        return isDefined(weightCol()) ? getOrDefault(weightCol()) : "";
    }

    default String getHandleInvalid() {
        return getOrDefault(handleInvalid());
    }

    default double getEpsilon() {
        return (Double) getOrDefault(epsilon());
    }

    default boolean getCenter() {
        return (Boolean) getOrDefault(center());
    }

    default boolean getScale() {
        return (Boolean) getOrDefault(scale());
    }

    /** A copy of the gamma param's value. */
    default double[] getGamma() {
        return getOrDefault(gamma()).clone();
    }

    /** A copy of the beta param's value. */
    default double[] getBeta() {
        return getOrDefault(beta()).clone();
    }

    default String getVarianceMode() {
        return getOrDefault(varianceMode());
    }

    /** The variance mode as an enum. */
    default VarianceMode varianceModeValue() {
        return VarianceMode.fromParam(getVarianceMode());
    }

    default int getAggregationDepth() {
        return (Integer) getOrDefault(aggregationDepth());
    }

    /**
     * The momentum of {@code update}'s moving average.
     *
     * @throws java.util.NoSuchElementException if momentum is not set (then {@code update} merges exactly); check with
     *     {@code isSet(momentum())}
     */
    default double getMomentum() {
        return (Double) getOrDefault(momentum());
    }

    /** This stage, typed for chaining. */
    @SuppressWarnings("unchecked")
    private S self() {
        return (S) this;
    }

    default S setInputCol(String value) {
        set(inputCol(), value);
        return self();
    }

    default S setOutputCol(String value) {
        set(outputCol(), value);
        return self();
    }

    /** Sets the numeric scalar input columns (copied); use with {@link #setOutputCols}, instead of inputCol. */
    default S setInputCols(String... value) {
        set(inputCols(), value.clone());
        return self();
    }

    /** Sets the output columns (copied), one per input column. */
    default S setOutputCols(String... value) {
        set(outputCols(), value.clone());
        return self();
    }

    /** Sets the weight column; an empty string means unweighted. */
    default S setWeightCol(String value) {
        set(weightCol(), value);
        return self();
    }

    /** Sets the invalid-value policy: {@code "error"}, {@code "skip"} or {@code "keep"}. */
    default S setHandleInvalid(String value) {
        set(handleInvalid(), value);
        return self();
    }

    default S setEpsilon(double value) {
        set(epsilon(), value);
        return self();
    }

    default S setCenter(boolean value) {
        set(center(), value);
        return self();
    }

    default S setScale(boolean value) {
        set(scale(), value);
        return self();
    }

    /** Sets gamma (copied); pass an empty array for 1.0 on every feature. */
    default S setGamma(double... value) {
        set(gamma(), value.clone());
        return self();
    }

    /** Sets beta (copied); pass an empty array for 0.0 on every feature. */
    default S setBeta(double... value) {
        set(beta(), value.clone());
        return self();
    }

    /** Sets the variance convention: {@code "population"} or {@code "sample"}. */
    default S setVarianceMode(String value) {
        set(varianceMode(), value);
        return self();
    }

    default S setAggregationDepth(int value) {
        set(aggregationDepth(), value);
        return self();
    }

    /** Sets the momentum of {@code update}'s moving average, in {@code [0, 1)}; {@code clear(momentum())} unsets it. */
    default S setMomentum(double value) {
        set(momentum(), value);
        return self();
    }

    /** The {@code groupCols} param. */
    default StringArrayParam groupCols() {
        return paramDefinitions().groupCols;
    }

    /** The {@code handleUnseenGroup} param. */
    default Param<String> handleUnseenGroup() {
        return paramDefinitions().handleUnseenGroup;
    }

    /** The {@code minGroupCount} param. */
    default IntParam minGroupCount() {
        return paramDefinitions().minGroupCount;
    }

    /** The group columns; empty when the statistics are not per group. */
    default String[] getGroupCols() {
        return getOrDefault(groupCols()).clone();
    }

    /** Sets the group columns (copied); none for one set of statistics over all rows. */
    default S setGroupCols(String... value) {
        set(groupCols(), value.clone());
        return self();
    }

    default String getHandleUnseenGroup() {
        return getOrDefault(handleUnseenGroup());
    }

    /** Sets what the transform does with groups the fit did not see: {@code "error"}, {@code "global"} or {@code "skip"}. */
    default S setHandleUnseenGroup(String value) {
        set(handleUnseenGroup(), value);
        return self();
    }

    default int getMinGroupCount() {
        return (Integer) getOrDefault(minGroupCount());
    }

    /** Sets the number of training rows below which a group uses the statistics of all training rows. */
    default S setMinGroupCount(int value) {
        set(minGroupCount(), value);
        return self();
    }
}
