/**
 * Tests on several JVMs: a driver and executors that share no memory, so everything a task needs travels by
 * serialization and the library's classes come from the jar the driver ships, as on a real cluster.
 *
 * <p>They run in their own surefire execution ({@code cluster-tests} in pom.xml), in a JVM of their own, because a JVM
 * holds one SparkContext and the rest of the suite shares a local one. The environment Spark's executor launcher needs
 * ({@code SPARK_HOME} with a {@code jars/} folder, {@code SPARK_SCALA_VERSION}) is set there.
 */
package io.github.batchnorm.cluster;
