"""Every document the repository cites is in the repository.

Scans the tracked text files (and new files git does not ignore) for three kinds of reference:

- file names: ``NAME.md`` anywhere, repository paths (``docs/x.md``, ``benchmark/y.py``, ``tests/z/``)
  and relative Markdown links must name files that exist;
- ``§N``: a section of docs/protocol.md (a bare ``§N`` and ``protocol.md §N`` both mean it); ``X.md §N``
  means a heading containing ``§N`` in X.md;
- ``decision N``: a numbered heading of docs/decisions.md.
"""

from __future__ import annotations

import bisect
import re
import subprocess
from collections.abc import Callable
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = "docs/protocol.md"
DECISIONS = "docs/decisions.md"
SCANNED_SUFFIXES = {".py", ".md", ".toml", ".csv", ".txt", ".html"}
THIS_FILE = "tests/test_doc_references.py"  # its sample texts cite missing files on purpose

TOP_FOLDERS = ("docs", "benchmark", "benchmarks", "speed", "baselines", "tests", "studies", "examples", ".ci")
REPO_PATH = re.compile(r"(?<![\w/.~-])((?:" + "|".join(map(re.escape, TOP_FOLDERS)) + r")/[\w./-]*)")
BARE_DOC = re.compile(r"(?<![\w/.-])([\w-]+\.md)\b")
MARKDOWN_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
# One citation group: an optional document, then one or more §N joined by commas, slashes or "and",
# possibly across a line break (Python comments continue with "#").
_BREAK = r"(?:[ \t]*\n[ \t]*#?)?[ \t]*"
_JOIN = r"[ \t]*(?:,|/|\band\b|\bor\b|&)" + _BREAK
SECTION_GROUP = re.compile(
    r"(?:(?P<doc>(?<![\w/.-])[\w./-]+\.md|\b[A-Z]{3,}\b)" + _BREAK + r")?"
    r"(?P<refs>§[ \t]?\d+(?:" + _JOIN + r"§[ \t]?\d+)*)"
)
SECTION = re.compile(r"§[ \t]?(\d+)")
DECISION_GROUP = re.compile(
    r"\bdecisions?[ \t]+(?P<nums>\d+(?:(?:[ \t]*,[ \t]*|[ \t]+and[ \t]+|[ \t]*/[ \t]*)\d+)*)", re.IGNORECASE
)
# Before a bare name on its line: it belongs to another repository ("github.com/…", "the official
# repository's readme.md", "owner/name `file.md`").
OTHER_REPOSITORY = re.compile(r"github\.com/|\brepositor(?:y|ies)\b|[\w.-]+/[\w.-]+[ \t]+`?$")
HEADING = re.compile(r"^#{1,6}[ \t]+(.*)$", re.MULTILINE)
NUMBERED_HEADING = re.compile(r"^#{2,4}[ \t]+(\d+)\.[ \t]", re.MULTILINE)


def _is_file_name(token: str) -> bool:
    """A path worth checking: it names a file (has an extension) or a folder (ends with /)."""
    return token.endswith("/") or bool(PurePosixPath(token).suffix)


def section_numbers(markdown: str, numbered_headings: bool = False) -> set[int]:
    """The §N that headings of a Markdown text carry (and, with ``numbered_headings``, the N of
    headings that start with "N.", how studies number their sections)."""
    numbers = {int(n) for heading in HEADING.findall(markdown) for n in SECTION.findall(heading)}
    if numbered_headings:
        numbers |= {int(n) for n in NUMBERED_HEADING.findall(markdown)}
    return numbers


def decision_numbers(markdown: str) -> set[int]:
    return {int(n) for n in NUMBERED_HEADING.findall(markdown)}


def unresolved_references(
    texts: dict[str, str], exists: Callable[[str], bool], read: Callable[[str], str | None]
) -> list[str]:
    """``file:line: reference (why)`` for every reference in ``texts`` (path → text) that does not
    resolve. ``exists(path)`` says whether a repository path exists; ``read(path)`` gives a document's
    text (None when missing); bare names resolve when some repository file has that name."""
    basenames = {PurePosixPath(p).name for p in texts} | {
        PurePosixPath(p).name for p in ("README.md", PROTOCOL, DECISIONS) if exists(p)
    }
    sections: dict[str, set[int] | None] = {}

    def sections_of(doc: str) -> set[int] | None:
        if doc not in sections:
            text = read(doc) if exists(doc) else None
            sections[doc] = None if text is None else section_numbers(text, numbered_headings=doc != PROTOCOL)
        return sections[doc]

    decisions_text = read(DECISIONS)
    decisions = decision_numbers(decisions_text) if decisions_text is not None else set()
    problems: list[tuple[str, int, str]] = []
    for path, text in sorted(texts.items()):
        newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        found = _file_problems(path, text, exists, basenames, sections_of, decisions)
        problems += [(path, bisect.bisect_right(newlines, offset - 1) + 1, what) for offset, what in found]
    problems.sort(key=lambda p: (p[0], p[1]))
    return [f"{path}:{line}: {what}" for path, line, what in problems]


def _file_problems(
    path: str,
    text: str,
    exists: Callable[[str], bool],
    basenames: set[str],
    sections_of: Callable[[str], set[int] | None],
    decisions: set[int],
) -> list[tuple[int, str]]:
    """(offset, what) for each unresolved reference in one file."""
    found: list[tuple[int, str]] = []
    links = list(MARKDOWN_LINK.finditer(text)) if path.endswith(".md") else []
    link_spans = [range(m.start(), m.end()) for m in links]  # checked as links, relative to the file

    def in_link(offset: int) -> bool:
        return any(offset in span for span in link_spans)

    for match in REPO_PATH.finditer(text):
        token = match.group(1).rstrip(".")
        after = text[match.end(1) : match.end(1) + 1]
        if in_link(match.start()) or after in ("*", "<", "{", "…") or not _is_file_name(token):
            continue
        if not exists(token.rstrip("/")):
            found.append((match.start(1), f"{token} (no such file)"))
    for match in BARE_DOC.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if in_link(match.start()) or OTHER_REPOSITORY.search(text[line_start : match.start()]):
            continue  # a link, or a file of another repository
        if match.group(1) not in basenames and not exists(match.group(1)):
            found.append((match.start(1), f"{match.group(1)} (no such file)"))
    for match in links:
        target = match.group(1).split("#", 1)[0]
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue
        if not exists("/".join(_normalise(f"{PurePosixPath(path).parent}/{target}"))):
            found.append((match.start(1), f"link {match.group(1)} (no such file)"))
    for match in SECTION_GROUP.finditer(text):
        doc = match.group("doc")
        if doc is None or doc.endswith("protocol.md"):
            doc = PROTOCOL
        elif not doc.endswith(".md"):
            found.append((match.start("doc"), f"{doc} §… (no such document)"))
            continue
        known = sections_of(doc)
        if doc != PROTOCOL and known is None:
            continue  # the missing file itself is reported above
        for number in SECTION.finditer(match.group("refs")):
            if not known or int(number.group(1)) not in known:
                offset = match.start("refs") + number.start()
                found.append((offset, f"{doc} §{number.group(1)} (no such section)"))
    for match in DECISION_GROUP.finditer(text):
        for number in re.finditer(r"\d+", match.group("nums")):
            if int(number.group()) not in decisions:
                offset = match.start("nums") + number.start()
                found.append((offset, f"{DECISIONS} decision {number.group()} (no such decision)"))
    return found


def _normalise(path: str) -> list[str]:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return parts or ["."]


def repository_texts() -> dict[str, str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    texts = {}
    for name in listed:
        if Path(name).suffix in SCANNED_SUFFIXES and name != THIS_FILE and (ROOT / name).is_file():
            texts[name] = (ROOT / name).read_text(encoding="utf-8", errors="replace")
    return texts


def _read(path: str) -> str | None:
    file = ROOT / path
    return file.read_text(encoding="utf-8") if file.is_file() else None


def test_every_cited_document_section_and_decision_exists():
    problems = unresolved_references(repository_texts(), lambda p: (ROOT / p).exists(), _read)
    assert not problems, f"{len(problems)} unresolved references:\n" + "\n".join(problems)


def test_the_scanner_reports_each_kind_of_broken_reference_with_its_line():
    documents = {
        PROTOCOL: "# Protocol\n\n## §0. Shared\n\n## §4. TM\n",
        DECISIONS: "# Decisions\n\n## 1. Specs\n\n## 2. Native resolution\n",
        "docs/study.md": "# Study\n\n## 2. Schedules\n",
    }
    texts = {
        "pkg/mod.py": (
            '"""Trajectory matching (docs/protocol.md §4, decision 2)."""\n'
            "# a table (PROTOCOL" + ".md §4) and a broken §7\n"
            "# rows chosen in docs/study.md\n# §2; see decisions 1 and 3\n"
        ),
        "docs/guide.md": (
            "See [the study](study.md), [a gap](missing.md#top), [the web](https://example.org/x.md)\n"
            "MTT: github.com/GeorgeCazenavette/mtt-distillation readme.md, owner/repo `run.md`.\n"
            "and benchmark/absent.py, docs/study.md §3, DESIGN" + " §1, `benchmark/suites/*.py`.\n"
        ),
    }
    files = set(texts) | set(documents) | {"README.md"}
    problems = unresolved_references(
        texts | {"docs/study.md": documents["docs/study.md"]}, lambda p: p in files, documents.get
    )
    assert problems == [
        "docs/guide.md:1: link missing.md#top (no such file)",
        "docs/guide.md:3: benchmark/absent.py (no such file)",
        "docs/guide.md:3: docs/study.md §3 (no such section)",
        "docs/guide.md:3: DESIGN §… (no such document)",
        "pkg/mod.py:2: PROTOCOL" + ".md (no such file)",
        "pkg/mod.py:2: docs/protocol.md §7 (no such section)",
        "pkg/mod.py:4: docs/decisions.md decision 3 (no such decision)",
    ]
