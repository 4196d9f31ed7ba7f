"""The one path policy for everything the harness writes: a name that comes from a record, a plugin,
a manifest or a buffer (a suite, a dataset, a class name) becomes a path component only as a safe
name, and every path written stays inside its output folder.

``safe_name`` slugs any text into one short path component (display files: figures, exported class
folders, table CSVs); ``checked_name`` refuses a name that is not already safe (where the name is an
identity a reader must find again: a record's suite folder); ``inside`` refuses a path that leaves
its root (``..``, an absolute name, a symbolic link pointing out). ``path_argument`` is the type of
every path option of the command line.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path

from benchmark.errors import UserInputError

MAX_NAME = 80  # characters of one path component we make (file systems allow 255 bytes)
_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+=-]*$")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_.+=-]+")


def path_argument(text: str) -> Path:
    """A path option; an empty value is refused (``Path("")`` would silently mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; name a folder or file")
    return Path(text)


def is_safe_name(text: object) -> bool:
    """A name usable verbatim as one path component: letters, digits and ``_ . + = -``, not starting
    with a dot or a dash, no ``..``, at most MAX_NAME characters."""
    return isinstance(text, str) and bool(_SAFE.match(text)) and ".." not in text and len(text) <= MAX_NAME


def safe_name(text: object, fallback: str = "unnamed") -> str:
    """``text`` as one safe path component: runs of other characters become ``-``, ``..`` a single
    dot; a name longer than MAX_NAME is cut and keeps a hash of the whole, so two long names stay apart."""
    slug = _UNSAFE_RUN.sub("-", str(text))
    slug = re.sub(r"\.{2,}", ".", slug).strip("-.") or fallback
    if len(slug) > MAX_NAME:
        digest = hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:10]
        slug = f"{slug[: MAX_NAME - 11].rstrip('-.')}-{digest}"
    return slug


def checked_name(text: object, what: str) -> str:
    """``text`` itself when it is a safe name, else one line naming ``what`` and the rule."""
    if not is_safe_name(text):
        raise UserInputError(
            f"{what} {text!r} cannot name a file: use letters, digits and _ . + = - (no leading dot or "
            f"dash, no '..', at most {MAX_NAME} characters)"
        )
    return text


def inside(root: str | Path, path: str | Path) -> Path:
    """``path`` (relative paths are taken under ``root``) when it lies inside ``root`` once symbolic
    links and ``..`` are resolved; a path that leaves ``root`` is refused with one line."""
    root = Path(root)
    path = Path(path) if Path(path).is_absolute() else root / path
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise UserInputError(f"refusing to write {str(path)!r}: it lies outside {str(root)!r}")
    return path
