"""How PySpark finds our classes by their Java names, although the Java package starts with ``io``.

PySpark maps between Python and Java class names by text: loading a ``PipelineModel`` imports the module named after a
stage's Java class (``org.apache.spark`` replaced by ``pyspark``), and Spark Connect's reader sends the Java name it
derives from the Python class's module. ``io.github.batchnorm`` cannot be a real Python package next to the standard
``io`` module, so:

- ``io.github.batchnorm`` is registered in ``sys.modules`` as a small module that holds our classes: Python's import
  system returns a module found there under its full name without importing its parents, which is all PySpark's
  ``__import__(name, fromlist=[...])`` needs;
- our readers name the Java class explicitly instead of deriving it from the Python module.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Type

from pyspark.ml.util import JavaMLReader
from pyspark.sql.utils import is_remote

JAVA_PACKAGE = "io.github.batchnorm"


def register(*classes: type) -> None:
    """Makes ``io.github.batchnorm.<Name>`` importable for PySpark's name mapping."""
    module = sys.modules.get(JAVA_PACKAGE)
    if module is None:
        module = types.ModuleType(JAVA_PACKAGE, "The Python classes of the Java package " + JAVA_PACKAGE + ".")
        sys.modules[JAVA_PACKAGE] = module
    for cls in classes:
        setattr(module, cls.__name__, cls)


def java_class_name(cls: type) -> str:
    return JAVA_PACKAGE + "." + cls.__name__


class _JavaReader(JavaMLReader):
    @classmethod
    def _java_loader_class(cls, clazz: Any) -> str:
        return java_class_name(clazz)


def reader(cls: Type[Any]) -> Any:
    """The reader for ``cls`` in the current kind of session."""
    if is_remote():
        from pyspark.ml.connect.readwrite import RemoteMLReader

        class _RemoteReader(RemoteMLReader):
            def load(self, path: str) -> Any:
                from pyspark.sql.connect.session import SparkSession

                session = SparkSession.getActiveSession()
                assert session is not None
                # Spark Connect's reader sends the Java name derived from the class's module and builds the instance
                # from the class registered under that name: a subclass that only carries the Java module name.
                named = types.new_class(cls.__name__, (cls,), exec_body=lambda ns: ns.update(__module__=JAVA_PACKAGE))
                return RemoteMLReader.loadInstance(named, path, session)

        return _RemoteReader(cls)
    return _JavaReader(cls)
