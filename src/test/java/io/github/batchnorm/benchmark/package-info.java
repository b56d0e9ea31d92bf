/**
 * The benchmark behind the README's speed table ({@code jobs/benchmark}): every contender measured in the same run on the
 * same cached data, so the ratios mean something on any machine.
 */
package io.github.batchnorm.benchmark;
