"""Buffers: what a strategy produces and every suite consumes (decision 8).

One ``.safetensors`` file: the stored tensors plus a manifest (JSON in the file's metadata).
The images are rebuilt by the decoder registered for the buffer's ``kind``; class-balanced hard
labels follow from the manifest (images come out class-major). A buffer may also carry a label
vector per image (:class:`SoftLabels`: the tensor ``soft_labels`` and the manifest field of that
name), stored and so counted like any tensor (decision 3). Loading never unpickles and verifies the
payload's sha256.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from benchmark.atomic import atomic_write_bytes
from benchmark.budget import Budget, check_budget, tensor_storage
from benchmark.errors import CorruptFileError, NonFiniteBufferError, UserInputError

LR_KEY = "lr"  # the one learned scalar lr, exempt from the budget (decision 3)
FORMAT = "distill-benchmark-buffer/2"  # /2: the manifest's fields are covered by digests too
LEGACY_FORMATS = ("distill-benchmark-buffer/1",)  # payload checksum only; read with a warning
FIELD_DIGESTS = "fields_sha256"
SOFT_LABELS = "soft_labels"  # the tensor and the manifest field of a buffer's soft labels
SOFT_LABELS_DTYPE = "soft_labels_dtype"  # an export's note of a dtype numpy lacks (bfloat16)
SOFT_LABEL_KINDS = ("probabilities", "logits")


@dataclass(frozen=True)
class SoftLabels:
    """A label vector per image: ``values`` (N, len(classes)), column j standing for the global class
    ``classes[j]``. ``kind`` ``probabilities``: rows on the simplex, softened at ``temperature``
    (1 unless stated); ``logits``: a teacher's outputs, turned into targets by softmax(values / T).
    Training compares the targets with softmax(network outputs / T) (benchmark/training/evaluate.py)."""

    values: torch.Tensor
    classes: tuple[int, ...]
    kind: str = "probabilities"
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in SOFT_LABEL_KINDS:
            raise ValueError(f"soft label kind {self.kind!r}: choose one of {', '.join(SOFT_LABEL_KINDS)}")
        temperature = self.temperature
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not (0 < temperature < math.inf)
        ):
            raise ValueError(f"soft label temperature {temperature!r}: give a finite number > 0")
        if not self.values.is_floating_point() or self.values.dim() != 2:
            raise ValueError(f"soft labels must be a float (N, classes) tensor, not {self.values.dtype} "
                             f"of shape {tuple(self.values.shape)}")  # fmt: skip
        if self.values.shape[1] != len(self.classes):
            raise ValueError(
                f"soft labels have {self.values.shape[1]} columns for {len(self.classes)} classes"
            )
        if self.kind == "probabilities":
            values = self.values.float()
            if bool((values < 0).any()) or not torch.allclose(values.sum(1), torch.ones(()), atol=1e-2):
                raise ValueError("soft label probabilities must be ≥ 0 and sum to 1 per image")

    def describe(self) -> dict[str, Any]:
        """The manifest field (and the records' ``soft_labels``, with the loss)."""
        return {"kind": self.kind, "temperature": self.temperature}

    def targets(self, num_classes: int) -> torch.Tensor:
        """(N, num_classes) float32 probabilities at the temperature; a class the labels do not cover
        (another continual step's) has probability 0, as a logit of −∞ would give."""
        values = self.values.float()
        if self.kind == "logits":
            values = torch.softmax(values / self.temperature, dim=1)
        targets = values.new_zeros(len(values), num_classes)
        targets[:, list(self.classes)] = values
        return targets


def field_digests(manifest: dict[str, Any]) -> dict[str, str]:
    """A digest of each manifest field (its canonical JSON), so a changed field can be named."""
    return {
        key: hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]
        for key, value in manifest.items()
        if key != FIELD_DIGESTS
    }


def changed_fields(manifest: dict[str, Any]) -> list[str]:
    """The fields of a manifest that differ from its digests (edited, added or removed)."""
    saved = manifest.get(FIELD_DIGESTS)
    if not isinstance(saved, dict):
        return [f"{FIELD_DIGESTS} (missing)"]
    now = field_digests(manifest)
    return sorted(
        [f"{k} (edited)" for k in now.keys() & saved.keys() if now[k] != saved[k]]
        + [f"{k} (added)" for k in now.keys() - saved.keys()]
        + [f"{k} (removed)" for k in saved.keys() - now.keys()]
    )


def payload_checksum(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over names, dtypes, shapes and bytes of every tensor, in sorted name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


@dataclass
class Buffer:
    kind: str
    tensors: dict[str, torch.Tensor]
    manifest: dict[str, Any] = field(default_factory=dict)

    # ---- storage -------------------------------------------------------------------------
    @property
    def storage(self) -> float:
        """float32-equivalents of everything stored except the exempt scalar lr."""
        return sum(tensor_storage(t) for name, t in self.tensors.items() if not self._exempt(name))

    def _exempt(self, name: str) -> bool:
        return name == LR_KEY and self.tensors[name].numel() == 1

    @property
    def soft_labels(self) -> SoftLabels | None:
        """The buffer's soft labels (rows in decoded image order), or None for hard labels only."""
        declared, stored = self.manifest.get(SOFT_LABELS), self.tensors.get(SOFT_LABELS)
        if declared is None and stored is None:
            return None
        if not isinstance(declared, dict) or stored is None:
            missing = "the tensor" if stored is None else "the manifest field"
            raise CorruptFileError(f"{self._who()} declares soft labels without {missing} {SOFT_LABELS!r}")
        try:
            return SoftLabels(
                stored,
                tuple(self.manifest["classes"]),
                declared.get("kind"),
                declared.get("temperature", 1.0),
            )
        except ValueError as error:
            raise CorruptFileError(f"{self._who()}: {error}") from None

    def attach_soft_labels(self, labels: SoftLabels) -> Buffer:
        """Store ``labels`` (their tensor at the dtype given: float16 counts half) and declare them."""
        self.tensors[SOFT_LABELS] = labels.values.detach().cpu().contiguous()
        self.manifest[SOFT_LABELS] = labels.describe()
        return self

    @property
    def learned_lr(self) -> float | None:
        lr = self.tensors.get(LR_KEY)
        return float(lr.reshape(-1)[0]) if lr is not None else None

    def check(self, budget: Budget | None) -> None:
        """Raise BudgetExceededError if over ``budget`` (None: the unbudgeted ``whole``)."""
        if budget is not None:
            check_budget(
                self.storage, budget, self.manifest.get("spec") or self.manifest.get("strategy", self.kind)
            )

    def check_finite(self) -> None:
        """Raise NonFiniteBufferError if a stored float tensor or a decoded image holds NaN or inf
        (such a buffer trains networks to chance and must not be saved as a result)."""
        for name, tensor in self.tensors.items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                bad = int((~torch.isfinite(tensor)).sum())
                raise NonFiniteBufferError(self._who(), f"its tensor {name!r} holds {bad} NaN/inf values")
        images, _, _ = self.materialize("cpu")
        if not bool(torch.isfinite(images).all()):
            raise NonFiniteBufferError(self._who(), "its decoded images hold NaN/inf values")

    def _who(self) -> str:
        return str(self.manifest.get("spec") or self.manifest.get("strategy") or self.kind)

    def check_data(self, data) -> None:
        """A buffer is trained and tested only on the dataset and preprocessing it was made with
        (decision 5): images distilled in ZCA space mean nothing to a mean/std network."""
        made = self.manifest.get("dataset"), self.manifest.get("preprocessing", "meanstd")
        if made != (data.name, data.preprocessing):
            raise UserInputError(
                f"buffer made on {made[0]!r} with {made[1]!r} preprocessing cannot be evaluated on "
                f"{data.name!r} with {data.preprocessing!r} preprocessing; use --preprocessing {made[1]} "
                "or distill the buffer again for this data"
            )
        fingerprint = self.manifest.get("data_fingerprint")
        if fingerprint and data.fingerprint and fingerprint != data.fingerprint:
            raise UserInputError(
                f"buffer made from other {made[0]} files (fingerprint {fingerprint}) than those loaded "
                f"now ({data.fingerprint}, {data.source}); pass the --data-root it was made with"
            )

    # ---- images --------------------------------------------------------------------------
    def materialize(self, device: torch.device | str = "cpu"):
        """(images, labels, lr): decoded images (class-major), their hard labels, the learned lr
        (soft labels, where stored, are :attr:`soft_labels`, one row per decoded image)."""
        from benchmark.registries import DECODERS

        decode = DECODERS.get(self.kind)
        tensors = {k: v.to(device) for k, v in self.tensors.items()}
        with torch.no_grad():
            try:
                decoded = decode(tensors, self.manifest)
            except KeyError as error:  # a tensor the decoder needs is not in the file
                raise CorruptFileError(
                    f"buffer of kind {self.kind!r} lacks its tensor {error}; delete it and distill it again"
                ) from error
        if not isinstance(decoded, tuple) and decoded.dim() == 0:
            raise CorruptFileError(f"buffer of kind {self.kind!r} decodes to a single number, not images")
        if LR_KEY in self.tensors and self.tensors[LR_KEY].numel() == 0:
            raise CorruptFileError(f"buffer of kind {self.kind!r} stores an empty {LR_KEY!r} tensor")
        # A decoder returns class-major images (labels implied) or, for unbalanced sets, (images, labels).
        images, labels = decoded if isinstance(decoded, tuple) else (decoded, self.labels_for(len(decoded)))
        soft = self.soft_labels
        if soft is not None and len(soft.values) != len(images):
            raise CorruptFileError(
                f"buffer decodes {len(images)} images but stores {len(soft.values)} soft labels"
            )
        return images.to(device), labels.to(device), self.learned_lr

    def pixels(
        self, cache_root: str | Path | None = None, clamp: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(images in [0, 1], labels): the decoded images with the dataset's preprocessing undone
        (ZCA through the transform cached under ``cache_root``, else mean/std), for people to look at.
        Buffers whose manifest predates ``mean``/``std`` are min-max scaled per image instead.
        ``clamp=False``: the values as they are (distilled images leave [0, 1])."""
        from benchmark.data.normalize import denormalize

        images, labels, _ = self.materialize("cpu")
        images = images.detach().float()
        key = self.manifest.get("whitening")
        if key:
            from benchmark.data.zca import load_whitening, unwhiten

            images = unwhiten(images, load_whitening(cache_root or "results", key))
        elif "mean" in self.manifest and "std" in self.manifest:
            images = denormalize(images, self.manifest["mean"], self.manifest["std"])
        else:
            low = images.amin(dim=(1, 2, 3), keepdim=True)
            high = images.amax(dim=(1, 2, 3), keepdim=True)
            images = (images - low) / (high - low).clamp_min(1e-12)
        return (images.clamp(0, 1) if clamp else images), labels

    def labels_for(self, count: int) -> torch.Tensor:
        classes = self.manifest["classes"]
        if count % len(classes):
            raise CorruptFileError(f"buffer decodes {count} images for {len(classes)} classes")
        return torch.as_tensor(classes).repeat_interleave(count // len(classes))

    # ---- files ---------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.tensors.items()}
        manifest = dict(self.manifest, kind=self.kind, format=FORMAT, sha256=payload_checksum(tensors))
        manifest.pop(FIELD_DIGESTS, None)
        manifest[FIELD_DIGESTS] = field_digests(manifest)
        self.manifest = manifest
        return save_safetensors(tensors, metadata={"manifest": json.dumps(manifest, sort_keys=True)})

    def save(self, path: str | Path) -> Path:
        atomic_write_bytes(path, self.to_bytes())
        return Path(path)

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "buffer") -> Buffer:
        manifest = _read_manifest(data, source)
        try:
            tensors = load_safetensors(data)
        except Exception as error:  # safetensors raises its own error types
            raise CorruptFileError(f"{source} is not a readable buffer file ({error})") from error
        expected = manifest.get("sha256")
        if expected != payload_checksum(tensors):
            raise CorruptFileError(
                f"{source}: the payload checksum does not match its manifest (tampered or damaged); "
                "delete it and distill it again"
            )
        if manifest["format"] == FORMAT:
            changed = changed_fields(manifest)
            if changed:
                raise CorruptFileError(
                    f"{source}: its manifest was changed after it was saved ({', '.join(changed)}); "
                    "delete it and distill it again"
                )
        else:
            warnings.warn(
                f"{source} predates manifest digests ({manifest['format']}): only its tensors are checked",
                stacklevel=2,
            )
        return cls(kind=manifest["kind"], tensors=tensors, manifest=manifest)

    @classmethod
    def load(cls, path: str | Path, expected_dataset: str | None = None) -> Buffer:
        path = Path(path)
        if path.is_dir():
            raise UserInputError(f"{str(path)!r} is a folder, not a buffer file; name a .safetensors file")
        if not path.is_file():
            raise UserInputError(f"buffer file {str(path)!r} does not exist")
        buffer = cls.from_bytes(path.read_bytes(), source=str(path))
        if expected_dataset is not None and buffer.manifest.get("dataset") != expected_dataset:
            raise UserInputError(
                f"{path} was made for dataset {buffer.manifest.get('dataset')!r}, not "
                f"{expected_dataset!r}; pass --dataset {buffer.manifest.get('dataset')} or another buffer"
            )
        return buffer


def _read_manifest(data: bytes, source: str) -> dict[str, Any]:
    """Parse the safetensors header ourselves: 8-byte length, then JSON with ``__metadata__``."""
    not_buffer = f"{source} is not a buffer file (expected a .safetensors file written by this suite)"
    if len(data) < 8:
        raise CorruptFileError(f"{not_buffer}; it is only {len(data)} bytes long")
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > len(data) - 8 or header_length > 100_000_000:
        raise CorruptFileError(f"{not_buffer}; its header is truncated or invalid")
    try:
        header = json.loads(data[8 : 8 + header_length])
        manifest = json.loads(header["__metadata__"]["manifest"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise CorruptFileError(f"{not_buffer}; its manifest is missing or malformed") from error
    if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT, *LEGACY_FORMATS):
        raise CorruptFileError(f"{not_buffer}; its manifest has no format {FORMAT!r}")
    classes = manifest.get("classes")
    valid_classes = isinstance(classes, list) and classes and all(type(c) is int for c in classes)
    if not valid_classes or not isinstance(manifest.get("sha256"), str):
        raise CorruptFileError(f"{not_buffer}; its manifest lacks classes or sha256")
    if not isinstance(manifest.get("kind"), str):
        raise CorruptFileError(f"{not_buffer}; its manifest has no decoder kind")
    return manifest
