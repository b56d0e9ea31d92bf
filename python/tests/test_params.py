"""The Python params are the Java stage's: same names, docs, defaults and validation, read from the Java side."""

from __future__ import annotations

import inspect

import generate_params
import pytest
from conftest import features, java_stages, vectors_frame
from pyspark.errors import IllegalArgumentException

from spark_batchnorm import BatchNormalization, BatchNormalizationModel, _params


def _python_default(stage, name):
    param = stage.getParam(name)
    return stage._defaultParamMap.get(param) if stage.hasDefault(param) else None


def test_the_generated_params_module_is_what_the_java_params_render_to_now(jvm):
    java = java_stages(jvm).BatchNormalization(generate_params._UID)
    with open(generate_params.GENERATED, encoding="utf-8") as f:
        committed = f.read()
    assert committed == generate_params.render(java), "run python/tools/generate_params.py after changing Java params"
    with open(_params.__file__, encoding="utf-8") as f:
        assert f.read() == committed, "the installed package is older than the source: reinstall it"


@pytest.mark.parametrize("stage_class", [BatchNormalization, BatchNormalizationModel])
def test_every_python_param_has_the_java_name_doc_and_default(jvm, stage_class):
    python_stage = stage_class()
    java_stage = java_stages(jvm).BatchNormalization(python_stage.uid)
    java = {p["name"]: p for p in generate_params.java_params(java_stage)}
    assert sorted(p.name for p in python_stage.params) == sorted(java)
    assert len(java) == 18
    for param in python_stage.params:
        assert param.doc == java[param.name]["doc"]
        assert _python_default(python_stage, param.name) == java[param.name]["default"], param.name


def test_the_java_model_declares_the_same_params_as_the_estimator(jvm):
    stages = java_stages(jvm)
    estimator = generate_params.java_params(stages.BatchNormalization("same"))
    model = generate_params.java_params(stages.BatchNormalizationModel())
    assert [(p["name"], p["doc"]) for p in model] == [(p["name"], p["doc"]) for p in estimator]


@pytest.mark.parametrize("method", ["__init__", "setParams"])
def test_the_constructor_and_setParams_take_every_param_by_keyword_only(method):
    signature = inspect.signature(getattr(BatchNormalization, method))
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    assert sorted(p.name for p in parameters) == sorted(_params.PARAM_NAMES)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is None for p in parameters)


def test_keyword_arguments_set_params_and_leave_the_rest_at_their_defaults():
    bn = BatchNormalization(inputCols=["a", "b"], outputCols=["x", "y"], epsilon=0.5, gamma=[2, 3])
    assert bn.getInputCols() == ["a", "b"] and bn.getOutputCols() == ["x", "y"]
    assert bn.getEpsilon() == 0.5 and bn.getGamma() == [2.0, 3.0]
    assert bn.isSet(bn.epsilon) and not bn.isSet(bn.varianceMode)
    assert bn.getVarianceMode() == "population" and bn.getOutputCol() == bn.uid + "__output"
    bn.setParams(varianceMode="sample", momentum=0.9)
    assert bn.getVarianceMode() == "sample" and bn.getMomentum() == 0.9 and bn.getEpsilon() == 0.5


VALUES = {
    "inputCol": "v",
    "outputCol": "w",
    "inputCols": ["a", "b"],
    "outputCols": ["c", "d"],
    "weightCol": "weight",
    "handleInvalid": "keep",
    "epsilon": 0.25,
    "center": False,
    "scale": False,
    "gamma": [1.5, 2.5],
    "beta": [-1.0, 1.0],
    "varianceMode": "sample",
    "aggregationDepth": 3,
    "momentum": 0.5,
    "summation": "exact",
    "groupCols": ["store", "day"],
    "handleUnseenGroup": "global",
    "minGroupCount": 20,
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_every_setter_returns_the_stage_and_its_getter_reads_the_value_back(name):
    assert set(VALUES) == set(_params.PARAM_NAMES)
    upper = name[0].upper() + name[1:]
    for stage in (BatchNormalization(), BatchNormalizationModel()):
        assert getattr(stage, "set" + upper)(VALUES[name]) is stage
        assert getattr(stage, "get" + upper)() == VALUES[name]


def test_python_type_converters_refuse_values_of_the_wrong_type():
    with pytest.raises(TypeError, match="epsilon"):
        BatchNormalization(epsilon="small")
    with pytest.raises(TypeError, match="inputCols"):
        BatchNormalization().setInputCols("a")


@pytest.mark.parametrize(
    "params, java_message",
    [
        ({"varianceMode": "unbiased"}, "parameter varianceMode given invalid value unbiased"),
        ({"epsilon": -1.0}, "parameter epsilon given invalid value -1.0"),
        ({"aggregationDepth": 1}, "parameter aggregationDepth given invalid value 1"),
        ({"momentum": 1.0}, "parameter momentum given invalid value 1.0"),
        ({"handleInvalid": "ignore"}, "parameter handleInvalid given invalid value ignore"),
        ({"summation": "kahan"}, "parameter summation given invalid value kahan"),
        ({"handleUnseenGroup": "sometimes"}, "parameter handleUnseenGroup given invalid value sometimes"),
        ({"minGroupCount": 0}, "parameter minGroupCount given invalid value 0"),
        ({"gamma": [1.0, float("inf")]}, "parameter gamma given invalid value"),
    ],
)
def test_out_of_range_values_fail_with_the_java_validators_message(spark, params, java_message):
    frame = vectors_frame(spark, features(1, rows=10, cols=2))
    with pytest.raises(IllegalArgumentException, match=java_message):
        BatchNormalization(inputCol="features", outputCol="out", **params).fit(frame)
