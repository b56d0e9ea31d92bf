/**
 * The numerical core, in plain Java with no Spark dependency, so it can be tested and reasoned about on its own.
 *
 * <p>The workflow has three types, one per stage of a fit:
 * <ol>
 *   <li>{@link io.github.batchnorm.stats.FastFeatureSummary} is the only mutable type: each Spark partition folds its rows into one,
 *       and summaries are merged pairwise (in any tree shape) into one for the whole dataset.</li>
 *   <li>{@link io.github.batchnorm.stats.FeatureStatistics} is the immutable result: count, weight sums and per-feature mean and
 *       centred second moment, from which either variance convention can be derived. Exact statistics merge exactly with
 *       the statistics of new data; with a momentum they move as an exponential moving average instead and become running
 *       statistics, as do statistics imported from Keras or PyTorch.</li>
 *   <li>{@link io.github.batchnorm.stats.AffineCoefficients} turns statistics plus gamma, beta and epsilon into the per-feature
 *       {@code y = (x - mean) * a + beta} that the transform applies, and its inverse.</li>
 * </ol>
 */
package io.github.batchnorm.stats;
