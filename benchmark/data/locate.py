"""Finding a dataset's files among the places users keep them; one clear error when absent."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from benchmark.errors import DatasetNotFoundError, first_line


def first_folder_with(candidates: Iterable[Path], required: list[str], dataset: str, how: str):
    """The first candidate folder holding every name in ``required`` (each may also end in .gz).

    Raises DatasetNotFoundError naming every folder tried and ``how`` to get the data.
    """
    tried = []
    for folder in candidates:
        folder = Path(folder).expanduser()
        tried.append(str(folder))
        if all(_find(folder, name) is not None for name in required):
            return folder
    raise DatasetNotFoundError(f"{dataset} not found; looked in: {', '.join(tried)}. {how}")


def download(fetch, dataset: str, root: Path) -> None:
    """Run a torchvision download; any failure (no network, a server error) is one line."""
    try:
        fetch()
    except Exception as error:  # urllib, HTTP and archive errors: the download did not happen
        reason = first_line(error) or type(error).__name__
        raise DatasetNotFoundError(
            f"{dataset} could not be downloaded into {root} ({reason}); fetch it by hand and pass --data-root"
        ) from None


def find_file(folder: Path, name: str) -> Path:
    """``folder/name`` or ``folder/name.gz``, whichever exists (gzip preferred)."""
    path = _find(folder, name)
    if path is None:
        raise DatasetNotFoundError(f"{folder / name} not found")
    return path


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


def image_files(folder: Path) -> list[Path]:
    """The JPEG/PNG files directly in ``folder``, sorted by name (empty if it does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
