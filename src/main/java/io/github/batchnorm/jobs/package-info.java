/**
 * The command-line job: {@code jobs/batchnorm} (or {@code spark-submit --class io.github.batchnorm.jobs.BatchNormJob}) fits,
 * applies and describes batch normalisation on tables on disk (CSV, Parquet, ORC, JSON), locally by default and unchanged
 * on a cluster. Outputs and models are written to a hidden temporary sibling and renamed into place, so a failed run never
 * leaves a directory that looks complete.
 */
package io.github.batchnorm.jobs;
