/**
 * Test support shared by every test package: the one local Spark session, seeded data generators, and the independent
 * BigDecimal reference that the library's numbers are checked against.
 */
package io.github.batchnorm.testing;
