/**
 * Batch normalisation as a Spark ML stage: {@link io.github.batchnorm.BatchNormalization} (the estimator) fits per-feature
 * statistics in one tree-aggregated pass and returns a {@link io.github.batchnorm.BatchNormalizationModel}, which applies
 * {@code y = gamma * (x - mean) / sqrt(var + epsilon) + beta}. Both share their params through
 * {@link io.github.batchnorm.BatchNormalizationParams}, and both save and load with Spark ML's persistence, alone or inside a
 * {@code Pipeline}.
 */
package io.github.batchnorm;
