"""Fuzzing (issue 13): the buffer loader and the spec parser either succeed or raise their
documented error types, whatever they are fed."""

import json
import struct

import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as save_safetensors

from benchmark.buffer import FORMAT, Buffer, payload_checksum
from benchmark.errors import CorruptFileError, UserInputError
from benchmark.spec import canonical, parse_spec

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def valid_buffer_bytes() -> bytes:
    images = torch.arange(2 * 64, dtype=torch.float32).reshape(2, 1, 8, 8)
    buffer = Buffer("pixels", {"images": images}, {"classes": [0, 1], "dataset": "digits"})
    return buffer.to_bytes()


VALID = valid_buffer_bytes()


def load_or_documented_error(data: bytes, allowed=(CorruptFileError,)):
    try:
        return Buffer.from_bytes(data)
    except allowed:
        return None


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_are_a_buffer_or_corrupt_file_error(data):
    load_or_documented_error(data)


@FUZZ
@given(st.data())
def test_mutated_valid_buffers_are_a_buffer_or_corrupt_file_error(draw):
    data = bytearray(VALID)
    for _ in range(draw.draw(st.integers(1, 4))):
        position = draw.draw(st.integers(0, len(data) - 1))
        data[position] = draw.draw(st.integers(0, 255))
    cut = draw.draw(st.integers(0, len(data)))
    load_or_documented_error(bytes(data[:cut]))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
DTYPES = [torch.float32, torch.float16, torch.uint8, torch.int64, torch.bool]


@st.composite
def manifests(draw):
    """Manifests near the real shape: each required field present, missing or replaced at random."""
    shapes = draw(st.lists(st.lists(st.integers(0, 3), max_size=3), min_size=0, max_size=3))
    names = draw(st.lists(st.sampled_from(["images", "lr", "codes", "x"]), min_size=len(shapes),
                          max_size=len(shapes), unique=True))  # fmt: skip
    dtypes = [draw(st.sampled_from(DTYPES)) for _ in shapes]
    tensors = {
        name: torch.zeros(shape, dtype=dtype)
        for name, shape, dtype in zip(names, shapes, dtypes, strict=True)
    }
    real = {
        "format": FORMAT,
        "kind": draw(st.sampled_from(["pixels", "speed", "haba", "nope"])),
        "classes": draw(st.lists(st.integers(-2, 12), max_size=4)),
        "sha256": payload_checksum(tensors),
        "dataset": "digits",
    }
    manifest = {}
    for key, value in real.items():
        choice = draw(st.integers(0, 3))
        if choice == 1:
            continue  # missing
        manifest[key] = draw(JSON) if choice == 2 else value
    manifest |= draw(st.dictionaries(st.text(max_size=6), JSON, max_size=3))
    as_text = draw(st.sampled_from(["json", "not-json", "list"]))
    text = {"json": json.dumps(manifest), "not-json": json.dumps(manifest)[:-1], "list": "[1, 2]"}[as_text]
    return tensors, text


def _manifest_for(tensors, **fields):
    manifest = {"format": FORMAT, "kind": "pixels", "classes": [0], "sha256": payload_checksum(tensors)}
    return tensors, json.dumps(manifest | fields)


@FUZZ
@given(manifests())
@example(_manifest_for({"images": torch.zeros(())}))  # a 0-d image tensor
@example(_manifest_for({"images": torch.zeros(1, 1), "lr": torch.zeros(2, 0)}))  # an empty lr
@example(_manifest_for({"images": torch.zeros(1, 1)}, classes=[]))  # no classes
@example(_manifest_for({"images": torch.zeros(1, 1)}, kind=[]))  # a kind that is not a name
@example(_manifest_for({"codes": torch.zeros(1, 1)}))  # the decoder's tensor is missing
def test_random_manifests_load_or_raise_documented_errors(case):
    tensors, text = case
    data = save_safetensors(tensors, metadata={"manifest": text})
    buffer = load_or_documented_error(data, (CorruptFileError, UserInputError))
    if buffer is not None:  # a loaded buffer is what was written, and materializes or refuses clearly
        assert buffer.manifest == json.loads(text)
        try:
            buffer.materialize()
        except (CorruptFileError, UserInputError):
            pass


@FUZZ
@given(st.binary(max_size=200))
def test_random_header_json_is_a_buffer_or_corrupt_file_error(header):
    load_or_documented_error(struct.pack("<Q", len(header)) + header + b"\0" * 8)


@FUZZ
@given(st.text(max_size=60))
def test_random_strings_parse_or_raise_user_input_error(text):
    try:
        spec = parse_spec(text)
    except UserInputError:
        return
    assert parse_spec(spec.canonical()) == spec


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_\-]{0,8}", fullmatch=True)
KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
VALUES = (
    st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-]{0,8}", fullmatch=True)
)


@FUZZ
@given(NAMES, st.dictionaries(KEYS, VALUES, max_size=5))
def test_generated_valid_specs_round_trip_through_their_canonical_form(name, params):
    text = canonical(name, params)
    spec = parse_spec(text)
    assert spec.name == name
    assert parse_spec(spec.canonical()) == spec
    assert spec.canonical() == parse_spec(spec.canonical()).canonical()
