"""Puts the library jar into the wheel: ``pip install ./python`` after ``mvn package`` ships
``target/spark-batchnorm.jar`` (or the jar named by the environment variable ``SPARK_BATCHNORM_JAR``, such as another
Spark line's build) as ``spark_batchnorm/jars/spark-batchnorm.jar``, where ``spark_batchnorm.jar_path()`` finds it."""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
JAR = "spark-batchnorm.jar"
CANDIDATES = [
    os.environ.get("SPARK_BATCHNORM_JAR", ""),  # another Spark line's build (docs/spark-lines.md)
    os.path.join(HERE, "..", "target", JAR),  # built in this repository
    os.path.join(HERE, "spark_batchnorm", "jars", JAR),  # an unpacked source distribution
]


class BuildWithJar(build_py):
    def run(self) -> None:
        super().run()
        source = next((p for p in CANDIDATES if os.path.isfile(p)), None)
        if source is None:
            raise SystemExit(f"{JAR} not found: run 'mvn -B -ntp -DskipTests package' in the repository first")
        target = os.path.join(self.build_lib, "spark_batchnorm", "jars")
        os.makedirs(target, exist_ok=True)
        shutil.copyfile(source, os.path.join(target, JAR))


setup(cmdclass={"build_py": BuildWithJar})
