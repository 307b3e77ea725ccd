"""Every script in examples/ (one per section of the seed guide) runs at tiny size
(--tiny) and shows what its docstring says. Examples on real data skip when the
`demo` extra (scikit-learn, easy-vqa, pillow) is missing."""

import ast
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXPECTED = ["01_first_model", "02_models_are_callable", "03_multi_input_multi_output",
            "04_shared_layers", "05_layer_nodes", "06a_inception_module",
            "06b_residual_connection", "06c_shared_vision_model",
            "06d_visual_question_answering", "06e_video_question_answering"]
NEEDS = {"01_first_model": ["sklearn"], "02_models_are_callable": ["sklearn"],
         "06a_inception_module": ["easy_vqa", "PIL"],
         "06b_residual_connection": ["easy_vqa", "PIL"],
         "06c_shared_vision_model": ["sklearn"],
         "06d_visual_question_answering": ["easy_vqa", "PIL"]}


def run_example(name: str, *args: str) -> dict:
    for module in NEEDS.get(name, []):
        pytest.importorskip(module)
    namespace = runpy.run_path(str(EXAMPLES_DIR / f"{name}.py"), run_name="jkeras_example")
    return namespace["main"](["--tiny", *args])


def test_ten_examples_each_with_a_docstring_and_tiny_flag():
    scripts = sorted(p.stem for p in EXAMPLES_DIR.glob("*.py"))
    assert scripts == EXPECTED
    for name in scripts:
        source = (EXAMPLES_DIR / f"{name}.py").read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source))
        assert doc and doc.splitlines()[0].startswith("Example "), name
        assert "--tiny" in source and "JKERAS_EXAMPLES_TINY" in source, name
        assert "nb_epoch" not in source and "border_mode" not in source, name  # modern spelling
    readme = (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    for name in scripts:
        assert f"{name}.py" in readme


def test_01_first_model():
    result = run_example("01_first_model")
    assert result["model"].count_params() == 8_970  # 64 inputs instead of 784
    assert 0.0 <= result["accuracy"] <= 1.0


def test_02_models_are_callable():
    result = run_example("02_models_are_callable")
    assert result["same_predictions"]
    assert result["output_shape"] == (None, 20, 10)
    assert result["reader"].predict(np.zeros((1, 20, 64), "float32"), verbose=0).shape == \
        (1, 20, 10)


def test_03_multi_input_multi_output():
    result = run_example("03_multi_input_multi_output")
    model = result["model"]
    assert model.input_names == ["main_input", "aux_input"]
    assert model.output_names == ["main_output", "aux_output"]
    assert 0.0 <= result["main_accuracy"] <= 1.0 and 0.0 <= result["aux_accuracy"] <= 1.0


def test_04_shared_layers():
    result = run_example("04_shared_layers")
    model, lstm = result["model"], result["lstm"]
    assert len(lstm._inbound_nodes) == 2  # one layer, two calls
    dense_params = 2 * 8 + 1
    assert model.count_params() == lstm.count_params() + dense_params


def test_05_layer_nodes():
    result = run_example("05_layer_nodes")
    assert "get_output_at" in result["message"]
    assert result["input_shapes"] == [(None, 32, 32, 3), (None, 64, 64, 3)]
    assert result["output_shapes"] == [(None, 32, 32, 16), (None, 64, 64, 16)]


def test_06a_inception_module():
    result = run_example("06a_inception_module")
    assert result["module_shape"] == (None, 16, 16, 12)  # three towers of 4 filters


def test_06b_residual_connection():
    result = run_example("06b_residual_connection")
    assert np.isfinite(result["mse_before"]) and np.isfinite(result["mse_after"])
    # The zero-initialised residual branch starts at the identity: one epoch of a few
    # steps cannot make it much worse than the noisy input.
    assert result["mse_after"] < 2 * result["mse_before"]


def test_06c_shared_vision_model():
    result = run_example("06c_shared_vision_model")
    assert result["tower_shape"] == (None, 11 * 11 * 8)
    model, tower = result["model"], result["vision_model"]
    assert model.count_params() == tower.count_params() + 2 * 968 + 1


def test_06d_visual_question_answering():
    result = run_example("06d_visual_question_answering")
    assert result["image_features"] == 8  # 32x32 -> 1x1x8 with the guide's layer pattern
    assert result["model"].output_shape == (None, 13)


def test_06e_video_question_answering():
    result = run_example("06e_video_question_answering")
    assert result["frame_features"] == (None, 3, 2)
    assert result["model"].output_shape == (None, 10)
    encoder, model = result["question_encoder"], result["model"]
    assert encoder in model.layers  # the question encoder Model, called as a layer
    assert all(any(w is v for v in model.weights) for w in encoder.weights)  # same weights


def test_example_runs_as_a_script_with_the_env_var():
    env = {**os.environ, "JKERAS_EXAMPLES_TINY": "1"}
    proc = subprocess.run([sys.executable, str(EXAMPLES_DIR / "05_layer_nodes.py")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "get_output_at(0) is encoded_a" in proc.stdout
