# Sourced by the jobs/ scripts (not run on its own): builds the project when needed and caches what a JVM needs to run
# it from this checkout, so every script starts Spark the same way.
#
# batchnorm_build sets:
#   BATCHNORM_ROOT       the checkout
#   BATCHNORM_JAR        target/spark-batchnorm.jar (the library and the job; Spark not included)
#   BATCHNORM_CLASSPATH  the runtime classpath without the jar (Spark and its dependencies), cached in
#                        target/batchnorm.classpath
#   BATCHNORM_JVM_FLAGS  Spark's JVM module flags from pom.xml (property spark.jvm.flags), cached in
#                        target/batchnorm.jvm-flags
# It rebuilds the jar when it is missing or older than src/main or pom.xml, and the caches when pom.xml is newer.
#
# batchnorm_build_test_classes (after batchnorm_build) sets:
#   BATCHNORM_TEST_CLASSES  target/test-classes, compiled when missing or older than src/test: the benchmark lives
#                           there, outside the shipped jar

batchnorm_build() {
  BATCHNORM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  local target="$BATCHNORM_ROOT/target"
  local classpath_file="$target/batchnorm.classpath"
  local flags_file="$target/batchnorm.jvm-flags"
  local mvn_quiet=(mvn -q -B -ntp -Dstyle.color=never -f "$BATCHNORM_ROOT/pom.xml")
  BATCHNORM_JAR="$target/spark-batchnorm.jar"

  if [ ! -f "$BATCHNORM_JAR" ] \
      || [ -n "$(find "$BATCHNORM_ROOT/src/main" "$BATCHNORM_ROOT/pom.xml" -newer "$BATCHNORM_JAR" -print -quit)" ]; then
    echo "batchnorm: building the project (first run, or sources changed)..." >&2
    "${mvn_quiet[@]}" -DskipTests package 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
  fi
  if [ ! -s "$classpath_file" ] || [ ! -s "$flags_file" ] || [ "$BATCHNORM_ROOT/pom.xml" -nt "$classpath_file" ]; then
    "${mvn_quiet[@]}" dependency:build-classpath -Dmdep.includeScope=compile -Dmdep.outputFile="$classpath_file" 2>&1 \
      | sed 's/\x1b\[[0-9;]*m//g' >&2
    # Maven writes colour resets to stderr even in batch mode; strip them there too, so a job's stderr holds only its
    # own message.
    "${mvn_quiet[@]}" org.apache.maven.plugins:maven-help-plugin:3.5.1:evaluate -Dexpression=spark.jvm.flags \
      -DforceStdout 2>"$flags_file.log" | sed "s/\x1b\[[0-9;]*m//g" > "$flags_file.tmp"
    sed "s/\x1b\[[0-9;]*m//g" "$flags_file.log" | grep -v '^$' >&2 || true
    rm -f "$flags_file.log"
    mv "$flags_file.tmp" "$flags_file"
  fi
  BATCHNORM_CLASSPATH="$(cat "$classpath_file")"
  BATCHNORM_JVM_FLAGS="$(cat "$flags_file")"
}

batchnorm_build_test_classes() {
  BATCHNORM_TEST_CLASSES="$BATCHNORM_ROOT/target/test-classes"
  local stamp="$BATCHNORM_ROOT/target/test-classes.stamp"
  if [ ! -f "$stamp" ] \
      || [ -n "$(find "$BATCHNORM_ROOT/src/test" "$BATCHNORM_ROOT/pom.xml" -newer "$stamp" -print -quit)" ]; then
    echo "batchnorm: compiling the test sources (the benchmark lives there)..." >&2
    mvn -q -B -ntp -Dstyle.color=never -f "$BATCHNORM_ROOT/pom.xml" test-compile 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
    touch "$stamp"
  fi
}
