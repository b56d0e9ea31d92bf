/**
 * Spark glue between the public stages and the pure-Java statistics: schema checks, the tree-aggregated fit, the broadcast
 * vector transform, model persistence, all-or-nothing directories and the translation of task failures into the user's
 * error. Nothing here depends on the public API package, so the dependency runs one way: {@code io.github.batchnorm} uses
 * this package, which uses {@code io.github.batchnorm.stats}.
 */
package io.github.batchnorm.spark;
