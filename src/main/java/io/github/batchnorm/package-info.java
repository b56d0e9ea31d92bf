/**
 * Batch normalisation as a Spark ML stage: {@link io.github.batchnorm.BatchNormalization} (the estimator) fits per-feature
 * statistics in one tree-aggregated pass and returns a {@link io.github.batchnorm.BatchNormalizationModel}, which applies
 * {@code y = gamma * (x - mean) / sqrt(var + epsilon) + beta}. Both share their params through
 * {@link io.github.batchnorm.BatchNormalizationParams}, and both save and load with Spark ML's persistence, alone or inside a
 * {@code Pipeline}. A model is updated with new data (exactly, or with a momentum), kept current from a stream by
 * {@link io.github.batchnorm.RunningModel}, inverted, and built from statistics trained elsewhere.
 */
package io.github.batchnorm;
