"""Issue 29, configuration: every TOML and command-line value is checked for type and range at load, by the
schema, and refused in one line naming where it came from, the value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportgen.config import load_config
from reportgen.errors import ConfigError

WRONG = [
    ('seed = "abc"', "seed = 'abc': it should be a valid integer"),
    ("seed = 1.5", "seed = 1.5: it should be a valid integer"),
    ("seed = -1", "seed = -1: it should be greater than or equal to 0"),
    ("seed = 4294967296", "seed = 4294967296: it should be less than 4294967296"),
    ("max_length = -1", "max_length = -1: it should be greater than or equal to 1"),
    ("noise_tunnel_samples = 0", "noise_tunnel_samples = 0: it should be greater than or equal to 1"),
    ('force = "no"', "force = 'no': it should be a valid boolean"),
    ('cache = "no"', "cache = 'no': it should be a valid boolean"),
    ("global_analysis = 1", "global_analysis = 1: it should be a valid boolean"),
    ("pages = true", "pages = True: it should be 'auto' or a whole number (0 or more)"),
    ("pages = -3", "pages = -3: it should be 'auto' or a whole number (0 or more)"),
    ('ig_steps = "many"', "ig_steps = 'many': it should be 'auto' or a whole number from 2 to 1000"),
    ("ig_steps = 1", "ig_steps = 1: it should be 'auto' or a whole number from 2 to 1000"),
    ("batch_tokens = 8", "batch_tokens = 8: it should be 'auto' or a whole number of at least 16"),
    ('target = "both"', "target = 'both': it should be 'predicted' or 'gold'"),
    ("ig_tolerance = 2.0", "ig_tolerance = 2.0: it should be less than 1"),
    ("ig_tolerance = nan", "ig_tolerance = nan: it should be a finite number"),
    ("unk_threshold = 0", "unk_threshold = 0: it should be greater than 0"),
    ("methods = 5", "methods = 5: it should be a list of names (or one comma-separated string)"),
    ("labels = 3", "labels = 3: it should be a list of names (or one comma-separated string)"),
    ("examples = 5", "examples = 5: it should be a path (a string)"),
    ("title = 5", "title = 5: it should be a valid string"),
    ('model = ""', "model = '': it should not be empty"),
    ('chunk_size = "big"', "chunk_size = 'big': it should be a valid integer"),
    ("global_sample = 0", "global_sample = 0: it should be greater than or equal to 1"),
    ('fail_on = "fatal"', "fail_on = 'fatal': it should be 'info', 'warning' or 'error'"),
    ('device = "tpu"', "device = 'tpu': it should be 'auto', 'cpu' or 'cuda'"),
    ('precision = "fp8"', "precision = 'fp8': it should be 'fp32', 'bf16' or 'fp16'"),
    ('long_inputs = "all"', "long_inputs = 'all': it should be 'window' or 'truncate'"),
    ('engine = "spark"', "engine = 'spark': it should be 'local' or 'ray'"),
    ('engine = "ray"\nworkers = 0', "workers = 0: it should be greater than or equal to 1"),
    ('engine = "ray"\ngpus_per_worker = -1', "gpus_per_worker = -1: it should be greater than or equal to 0"),
]


def _toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "reportgen.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize("body, message", WRONG, ids=[w[0].split("\n")[-1] for w in WRONG])
def test_a_wrongly_typed_toml_value_is_one_line_naming_file_key_value_and_what_is_allowed(tmp_path, body, message):
    path = _toml(tmp_path, "[build]\n" + body + "\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path, {})
    assert refused.value.message == f"{path}: {message}"


def test_a_method_option_is_set_in_its_table_or_on_the_command_line_and_checked_against_its_declaration(tmp_path):
    from reportgen.cli import parse_method_options

    path = _toml(tmp_path, '[build]\nsurrogate_samples = 50\n[methods.integrated_gradients]\nsteps = 40\n'
                           '[methods.smoothgrad]\nsamples = 4\n')
    cfg = load_config(path, {"options": parse_method_options(["integrated_gradients.steps=60", "lime.samples=9"])})
    # the command line over the file key by key; an old flag sets the option(s) it always set
    assert cfg.compute.options == {"integrated_gradients": {"steps": 60}, "smoothgrad": {"samples": 4},
                                   "lime": {"samples": 9}, "kernel_shap": {"samples": 50}}
    assert parse_method_options(['integrated_gradients.steps="auto"', "integrated_gradients.steps=auto"]) == {
        "integrated_gradients": {"steps": "auto"}}
    for body, message in [
        ("[methods.integrated_gradients]\nsteps = 1", f"{path}: [methods.integrated_gradients] steps = 1: it should "
                                                      "be 'auto' or a whole number from 2 to 1000"),
        ("[methods.lime]\nsamples = 0", f"{path}: [methods.lime] samples = 0: it should be greater than or equal "
                                        "to 1"),
        ("[methods.lime]\nrounds = 3", f"{path}: [methods.lime] rounds: lime has no option 'rounds'; its options: "
                                       "samples"),
        ("[methods.nope]\nx = 1", "Unknown attribution method 'nope'"),
        ("[methods]\nlime = 3", "methods must hold one table per method"),
    ]:
        with pytest.raises(ConfigError) as refused:
            load_config(_toml(tmp_path, body + "\n"), {})
        assert message in refused.value.message, refused.value.message
    with pytest.raises(ConfigError) as refused:
        load_config(None, {"options": parse_method_options(["attn_lrp.steps=3"])})
    assert refused.value.message == "--option attn_lrp.steps: attn_lrp has no option 'steps'; its options: none"
    with pytest.raises(ConfigError):
        parse_method_options(["steps=3"])


def test_a_command_line_value_names_its_option(tmp_path):
    with pytest.raises(ConfigError) as refused:
        load_config(None, {"max_length": 0})
    assert refused.value.message == "--max-length = 0: it should be greater than or equal to 1"


@pytest.mark.parametrize("body, message", [
    ("build = 5", "build must be a table"),
    ("[build]\nseed = ", "not valid TOML"),
    ("[other]\nx = 1", "unknown table 'other'"),
    ("[build]\nmax_length = 64\nwindow_stride = 64", "--window-stride 64 must be smaller than the window"),
    ("[build]\nworkers = 2", "--workers applies to --engine ray"),
    ("[build]\nmethods = []", "methods must name at least one attribution method"),
    ('[build]\nmethods = ["attn_lrp", "attn_lrp"]', "methods lists a method twice"),
    ("[build]\nlabel_map = 4", "--label-map: give MODEL_LABEL=NAME pairs"),
    ("[build]\nexamples_shown_as = 'x'", "Unknown option 'examples_shown_as'"),
])
def test_structural_mistakes_are_one_line(tmp_path, body, message):
    with pytest.raises(ConfigError) as refused:
        load_config(_toml(tmp_path, body + "\n"), {})
    assert message in refused.value.message and "\n" not in refused.value.message


def test_booleans_are_booleans_and_valid_values_load(tmp_path):
    body = ("[build]\nforce = false\ncache = true\npages = 0\nseed = 7\nig_steps = 50\nig_tolerance = 0.05\n"
            'methods = "attn_lrp, integrated_gradients"\nlabels = ["neg", "pos"]\n')
    cfg = load_config(_toml(tmp_path, body), {})
    assert cfg.force is False and cfg.cache is True and cfg.pages == 0 and cfg.compute.seed == 7
    assert cfg.compute.options == {"integrated_gradients": {"steps": 50, "tolerance": 0.05}}
    assert cfg.compute.methods == ("attn_lrp", "integrated_gradients") and cfg.labels == ("neg", "pos")


def test_the_recorded_settings_are_the_build_settings_a_report_keeps():
    """bundle/settings.py declares what results.json's "config" holds; it must follow BuildConfig field for field,
    less what a report leaves out (where it was written, the cache, the engine)."""
    from dataclasses import fields

    from reportgen.bundle.settings import RecordedSettings
    from reportgen.config import NOT_RECORDED, BuildConfig, bundle_config

    build = {f.name for f in fields(BuildConfig)} - set(NOT_RECORDED)
    assert {f.name for f in fields(RecordedSettings)} == build
    recorded = bundle_config(BuildConfig(title="t", labels=("a", "b")))
    assert recorded.compute.methods == BuildConfig().compute.methods and recorded.labels == ("a", "b")
