"""The one escaping rule of the report, for every output format: text from records, plugins and
manifests is shown as text, never as markup, and a link is emitted only when it is an ``http(s)``
URL (a ``javascript:`` or ``data:`` link, or one with quotes or spaces, is dropped).

HTML: jinja2 with autoescape on (:func:`html_environment`): the five special characters as
entities, each value on one line, links through :func:`safe_url`. Markdown: the same entities (so
raw ``<script>`` or ``<img onerror=…>`` is never HTML in a Markdown renderer), the characters that
start Markdown markup backslash-escaped, and line breaks as spaces (a newline could end a table row
or a code block).
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]|])")
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x85\u2028\u2029]+")
_URL_FORBIDDEN = re.compile(r"[\s\"'<>`\\\x00-\x1f\x7f]")


def one_line(text: Any) -> str:
    return _LINE_BREAKS.sub(" ", str(text))


def markdown_text(text: Any) -> str:
    """Text for Markdown (a paragraph, a heading, a table cell, link text)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(one_line(text), quote=False))


def markdown_code(text: Any) -> str:
    """One line of an indented Markdown code block (shown literally; a line break would end it)."""
    return "    " + one_line(text)


def safe_url(url: Any) -> str | None:
    """``url`` when it is an absolute ``http`` or ``https`` URL with a host and no character that could
    end an attribute or a Markdown link; None otherwise."""
    if not isinstance(url, str) or _URL_FORBIDDEN.search(url) or "(" in url or ")" in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def markdown_link(text: str, url: Any) -> str:
    """``[text](url)`` for a safe URL; nothing for another."""
    safe = safe_url(url)
    return f"[{markdown_text(text)}]({safe})" if safe else ""


def html_environment(package: str = "benchmark.report", folder: str = "templates"):
    """The jinja2 environment every HTML page is rendered in: autoescape on for every template, each
    value on one line (:func:`one_line`) before it is escaped, ``| url`` for an href (None, so
    nothing, unless :func:`safe_url` accepts it)."""
    import jinja2
    from markupsafe import Markup

    def finalize(value: Any) -> Any:
        if value is None:
            return ""
        return value if isinstance(value, Markup) else one_line(value)

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(package, folder),
        autoescape=True,
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["url"] = safe_url
    return environment
