# Sourced by jobs/test-all-lines and jobs/python-tests (not run on its own): the copy of the checkout in which another
# Spark line is built, so that the default line's target/ (whose jar the jobs/ scripts use) is never rebuilt against
# another Spark.

# spark_line_copy LINE: refreshes target/spark-lines/LINE from the checkout (everything but target/, .git and Python
# virtual environments; the tests read README.md and data/ too) and prints its path. The copy's own target/ is kept, so
# Maven rebuilds only what changed.
spark_line_copy() {
    local root copy
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    copy="$root/target/spark-lines/$1"
    mkdir -p "$copy"
    find "$copy" -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +
    tar -C "$root" --exclude=./target --exclude=./.git --exclude='./python/.venv*' --exclude='./python/build' -cf - . \
        | tar -C "$copy" -xf -
    echo "$copy"
}
