"""Puts the library jar into the wheel: ``pip install ./python`` after ``mvn package`` ships
``target/spark-batchnorm.jar`` (or the jar named by the environment variable ``SPARK_BATCHNORM_JAR``, such as another
Spark line's build) as ``spark_batchnorm/jars/spark-batchnorm.jar``, where ``spark_batchnorm.jar_path()`` finds it."""

import os
import re
import shutil
import zipfile

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
JAR = "spark-batchnorm.jar"
CANDIDATES = [
    os.environ.get("SPARK_BATCHNORM_JAR", ""),  # another Spark line's build (docs/spark-lines.md)
    os.path.join(HERE, "..", "target", JAR),  # built in this repository
    os.path.join(HERE, "spark_batchnorm", "jars", JAR),  # an unpacked source distribution
]

# Maven records the artifact, whose name carries the Spark line (spark-batchnorm-3.5_2.12), inside the jar.
ARTIFACT = re.compile(r"META-INF/maven/io\.github\.batchnorm/spark-batchnorm-(\d+)\.(\d+)_[0-9.]+/pom\.properties")
DEFAULT_LINE = (4, 2)


def the_jar():
    return next((p for p in CANDIDATES if p and os.path.isfile(p)), None)


def spark_line(jar):
    """The Spark line (major, minor) the jar was built for; the default line when there is no jar to read."""
    if jar is None:
        return DEFAULT_LINE
    with zipfile.ZipFile(jar) as archive:
        for name in archive.namelist():
            match = ARTIFACT.fullmatch(name)
            if match:
                return int(match.group(1)), int(match.group(2))
    raise SystemExit(f"{jar} names no spark-batchnorm artifact: build it with Maven (mvn -B -ntp -DskipTests package)")


MAJOR, MINOR = spark_line(the_jar())
PYSPARK = f"pyspark>={MAJOR}.{MINOR},<{MAJOR}.{MINOR + 1}"
PYSPARK_CONNECT = f"pyspark[connect]>={MAJOR}.{MINOR},<{MAJOR}.{MINOR + 1}"


class BuildWithJar(build_py):
    def run(self) -> None:
        super().run()
        source = the_jar()
        if source is None:
            raise SystemExit(f"{JAR} not found: run 'mvn -B -ntp -DskipTests package' in the repository first")
        target = os.path.join(self.build_lib, "spark_batchnorm", "jars")
        os.makedirs(target, exist_ok=True)
        shutil.copyfile(source, os.path.join(target, JAR))


setup(
    cmdclass={"build_py": BuildWithJar},
    install_requires=[PYSPARK, "numpy>=1.21"],
    extras_require={"connect": [PYSPARK_CONNECT], "keras": ["keras>=3"], "torch": ["torch>=1.13"]},
)
