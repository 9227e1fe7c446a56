"""ModelAdapter: the one object compute/ knows — tokenize, embed, logits from embeddings, attentions."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

import torch
from torch import nn

from reportgen.bundle.reasons import Reason
from reportgen.bundle.sections import HeadKind, LoadedFrom, ModelDetails
from reportgen.models.architecture import Architecture, architecture_of, module_at, readout_of
from reportgen.models.probe import LinearProbe


@dataclass
class ForwardOutput:
    logits: Optional[torch.Tensor]  # float[batch, classes]; None for a bare encoder without a probe yet
    pooled: torch.Tensor  # float[batch, hidden], masked mean of the last layer
    layer_pooled: torch.Tensor  # float[batch, layers + 1, hidden], masked mean of the embeddings and every layer
    attentions: Optional[tuple[torch.Tensor, ...]]  # layers x float[batch, heads, seq, seq]


@dataclass(frozen=True)
class Head:
    """Where the predictions come from: the model's own sequence-classification head (own), or a linear probe
    fitted here on the encoder's pooled features; and the classes it predicts, in logit order."""

    own: bool
    labels: tuple[str, ...]

    @property
    def kind(self) -> HeadKind:
        return "classifier" if self.own else "probe"

    @property
    def classes(self) -> int:
        return len(self.labels)


@dataclass
class ModelAdapter:
    name: str  # what the user asked for, or the default model's hub id
    loaded_from: LoadedFrom
    model: nn.Module  # a transformers model, eval mode, parameters frozen
    tokenizer: Any  # a fast tokenizer (offsets are required)
    head: Head
    device: torch.device
    details: ModelDetails
    probe: Optional[LinearProbe] = None  # the probe logits go through now (see using())
    # The architecture table's row (models/architecture.py) and where the prediction reads the last layer:
    # "first" token or "mean" over the real tokens. Filled from the model's config when not given.
    architecture: Optional[Architecture] = None
    readout: Optional[str] = None

    def __post_init__(self) -> None:
        if self.architecture is None:
            self.architecture = architecture_of(self.model.config)
        if self.readout is None:
            self.readout = readout_of(self.model.config, self.head.own)

    @property
    def labels(self) -> list[str]:
        return list(self.head.labels)

    def with_labels(self, labels: Sequence[str]) -> "ModelAdapter":
        """The same model whose head predicts these classes (a probe's, or the head's renamed by --label-map)."""
        return dataclasses.replace(self, head=Head(self.head.own, tuple(labels)))

    @property
    def pad_id(self) -> int:
        """The token of an empty position (Integrated Gradients' baseline): the tokenizer's padding, else 0."""
        pad = self.tokenizer.pad_token_id
        return int(pad) if pad is not None else 0

    @property
    def filler_id(self) -> int:
        """What a removed word piece becomes (occlusion, LIME, KernelSHAP): the mask token, else padding."""
        mask = self.tokenizer.mask_token_id
        return int(mask) if mask is not None else self.pad_id

    def blocks(self) -> Optional[list[nn.Module]]:
        """The transformer blocks, bottom to top, one per layer; None when the table does not know where they are
        or one block serves every layer."""
        arch = self.architecture
        found = module_at(self.model.base_model, arch.layers) if arch.layers and not arch.shared_layers else None
        if isinstance(found, (nn.ModuleList, list)) and len(found) == self.num_layers:
            return list(found)
        return None

    def blocks_problem(self) -> Optional[Reason]:
        """Why this model's layers cannot be changed one at a time (randomised, pruned), or None."""
        if self.blocks() is not None:
            return None
        if self.architecture.shared_layers:
            return Reason("shared_layers", {"family": self.architecture.family})
        return Reason("layers_unknown", {"architecture": self.details.architecture})

    def output_projections(self) -> Optional[list[nn.Linear]]:
        """Per layer, the Linear whose input is the heads side by side (head masks scale its input)."""
        blocks, path = self.blocks(), self.architecture.output_projection
        if blocks is None or path is None:
            return None
        found = [module_at(block, path) for block in blocks]
        return found if all(isinstance(f, nn.Linear) for f in found) else None  # type: ignore[misc]

    def readout_row(self, matrix: Any) -> Any:
        """The row of a token-to-token matrix (numpy or torch, [..., seq, seq]) at what the prediction reads."""
        return matrix[..., 0, :] if self.readout == "first" else matrix.mean(-2)

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def num_heads(self) -> int:
        return int(self.model.config.num_attention_heads)

    @contextlib.contextmanager
    def using(self, probe: Optional[LinearProbe]) -> Iterator[None]:
        """Route every logit through this probe for the block (cross-fitting: the probe of an example's
        fold); None keeps the model's own head."""
        previous = self.probe
        self.probe = None if probe is None else probe.to(self.device)
        try:
            yield
        finally:
            self.probe = previous

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Word-piece embeddings: the layer Integrated Gradients interpolates on."""
        return self.model.get_input_embeddings()(input_ids)

    def logits_from_embeddings(
        self,
        embeddings: torch.Tensor,  # float[batch, seq, hidden]
        attention_mask: torch.Tensor,  # long[batch, seq]
        token_type_ids: Optional[torch.Tensor],
    ) -> torch.Tensor:
        """Differentiable logits; runs with the model's fused attention (never eager) for speed."""
        outputs = self.model(
            inputs_embeds=embeddings, attention_mask=attention_mask, **_types(token_type_ids)
        )
        if self.head.own:
            return outputs.logits
        return self._probe_logits(outputs.last_hidden_state, attention_mask)

    @torch.no_grad()
    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: Optional[torch.Tensor],
        attentions: bool,
    ) -> ForwardOutput:
        """One pass for prediction, pooled features and (optionally) every layer's attention."""
        if attentions:
            # Attention weights exist only in the eager kernel; switch for this pass only.
            self.model.set_attn_implementation("eager")
        try:
            outputs = self.model(
                input_ids=input_ids, attention_mask=attention_mask, output_attentions=attentions,
                output_hidden_states=True, **_types(token_type_ids),
            )
        finally:
            if attentions:
                self.model.set_attn_implementation(self.details.attn_implementation)
        layer_pooled = torch.stack([_masked_mean(h, attention_mask) for h in outputs.hidden_states], dim=1)
        pooled = layer_pooled[:, -1]
        if self.head.own:
            logits = outputs.logits
        else:
            logits = self.probe(pooled) if self.probe is not None else None
        return ForwardOutput(logits=logits, pooled=pooled, layer_pooled=layer_pooled,
                             attentions=outputs.attentions if attentions else None)

    def logits_and_attentions(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: Optional[torch.Tensor]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Differentiable logits and every layer's attention probabilities (eager kernel), for methods
        that need the gradient of the prediction with respect to the attention maps."""
        # The weights are frozen, so the graph must start at the embeddings for attention to get gradients.
        embeddings = self.embed(input_ids).detach().requires_grad_(True)
        self.model.set_attn_implementation("eager")
        try:
            outputs = self.model(
                inputs_embeds=embeddings, attention_mask=attention_mask, output_attentions=True,
                output_hidden_states=not self.head.own, **_types(token_type_ids),
            )
        finally:
            self.model.set_attn_implementation(self.details.attn_implementation)
        if self.head.own:
            return outputs.logits, outputs.attentions
        return self._probe_logits(outputs.hidden_states[-1], attention_mask), outputs.attentions

    def _probe_logits(self, last_hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.probe is None:
            raise RuntimeError("the probe must be fitted before logits are asked for")
        return self.probe(_masked_mean(last_hidden, attention_mask))


def _masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def _types(token_type_ids: Optional[torch.Tensor]) -> dict[str, torch.Tensor]:
    return {} if token_type_ids is None else {"token_type_ids": token_type_ids}
