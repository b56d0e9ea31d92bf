/**
 * The numerical core, in plain Java with no Spark dependency, so it can be tested and reasoned about on its own.
 *
 * <p>The workflow has three kinds of type, one per stage of a fit:
 * <ol>
 *   <li>Accumulators, the only mutable types: a {@link io.github.batchnorm.stats.FeatureAccumulator} is what each Spark
 *       partition folds its rows into, and accumulators are merged pairwise (in any tree shape) into one for the whole
 *       dataset. {@link io.github.batchnorm.stats.FastFeatureSummary} works in double precision;
 *       {@link io.github.batchnorm.stats.ExactFeatureSummary} keeps exact sums in
 *       {@link io.github.batchnorm.stats.ExactSum}s, so its result does not depend on how rows were partitioned. Their
 *       {@code add} methods and {@code merge} mutate the receiver and return it (what Spark's {@code treeAggregate}
 *       expects); {@code merge} never changes its argument.</li>
 *   <li>{@link io.github.batchnorm.stats.FeatureStatistics} is the immutable result: count, weight sums and per-feature
 *       mean and centred second moment, from which either variance convention can be derived. Exact statistics merge
 *       exactly with the statistics of new data; with a momentum they move as an exponential moving average instead and
 *       become running statistics, as do statistics imported from Keras or PyTorch.</li>
 *   <li>{@link io.github.batchnorm.stats.AffineCoefficients}, immutable too, turns statistics plus gamma, beta and
 *       epsilon into the per-feature map that the transform applies.</li>
 * </ol>
 */
package io.github.batchnorm.stats;
