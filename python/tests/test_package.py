"""The installed package: its jar, and the name under which PySpark finds its classes."""

from __future__ import annotations

import filecmp
import importlib
import io
import os
import sys
import zipfile

import spark_batchnorm
from spark_batchnorm import BatchNormalization, BatchNormalizationModel

# jobs/python-tests names the jar it installed (another Spark line's build, say) in SPARK_BATCHNORM_JAR.
BUILT_JAR = os.environ.get("SPARK_BATCHNORM_JAR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "target", "spark-batchnorm.jar"
)


def test_jar_path_is_the_jar_built_by_maven_installed_inside_the_package():
    path = spark_batchnorm.jar_path()
    assert path.startswith(os.path.dirname(spark_batchnorm.__file__))
    assert filecmp.cmp(path, BUILT_JAR, shallow=False), "reinstall ./python after mvn package"


def test_the_jar_registers_both_stages_for_spark_connects_ml_service():
    with zipfile.ZipFile(spark_batchnorm.jar_path()) as jar:
        services = {
            name: jar.read(name).decode("utf-8").split("\n")
            for name in (
                "META-INF/services/org.apache.spark.ml.Estimator",
                "META-INF/services/org.apache.spark.ml.Transformer",
            )
        }
    assert "io.github.batchnorm.BatchNormalization" in services["META-INF/services/org.apache.spark.ml.Estimator"]
    assert (
        "io.github.batchnorm.BatchNormalizationModel" in services["META-INF/services/org.apache.spark.ml.Transformer"]
    )


def test_the_java_package_name_imports_our_classes_as_pyspark_imports_it():
    # PySpark's JavaParams._from_java and DefaultParamsReader do exactly this with the Java class name.
    module = __import__("io.github.batchnorm", fromlist=["BatchNormalizationModel"])
    assert module.BatchNormalization is BatchNormalization
    assert module.BatchNormalizationModel is BatchNormalizationModel
    assert importlib.import_module("io.github.batchnorm") is sys.modules["io.github.batchnorm"]


def test_pythons_own_io_module_is_left_as_it_is():
    assert sys.modules["io"] is io and io.BytesIO(b"x").read() == b"x"
    assert not hasattr(io, "github")
