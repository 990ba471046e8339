"""Covers: the real jacket when the catalogue has one, else a jacket drawn for the book.

The drawn jacket (an SVG the app renders, see ``catalogue/cover.svg``) sets the title and
author on a background whose colours and pattern come from the book's category, the way
library catalogues show placeholder jackets. It works offline and keeps grids even: it has
the 2:3 shape of a real cover.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from webapp.models import Book

# Goodreads' own "no photo" images stand in for a missing cover: they count as none.
PLACEHOLDER_MARKERS = ("/nophoto/",)

# (background, pattern, ink): dark grounds with light ink; the text sits on the background
# (contrast above 10:1), and ink stays above 6:1 on the pattern too.
PALETTES = [
    ("#1d3557", "#2a4a75", "#f1faee"),
    ("#3d1e3f", "#58305b", "#fbeef7"),
    ("#14453d", "#1f6154", "#eefaf6"),
    ("#5a1f1b", "#7a2e28", "#fff1ec"),
    ("#2b2d42", "#414461", "#f4f4f8"),
    ("#0b3c5d", "#155a87", "#eef7ff"),
    ("#4a3b12", "#6b561d", "#fff8e6"),
    ("#1b4332", "#2d6a4f", "#f0fff4"),
    ("#3c096c", "#5a189a", "#f5ecff"),
    ("#432818", "#6f4518", "#fff3e6"),
    ("#22333b", "#38525e", "#f2f7f9"),
    ("#6a040f", "#9d0208", "#fff0f0"),
]
PATTERNS = ("stripes", "dots", "frame", "chevrons", "grid", "rings")

# Title: up to five lines; author: up to two, each cut with an ellipsis when longer.
TITLE_LINES, TITLE_CHARS = 5, 15
AUTHOR_LINES, AUTHOR_CHARS = 2, 22
UNCATEGORISED = "uncategorised"


@dataclass(frozen=True)
class CoverDesign:
    """What ``catalogue/cover.svg`` draws for one book."""

    background: str
    band: str
    ink: str
    pattern: str
    title_lines: list[str]
    author_lines: list[str]
    label: str
    title_size: int


def real_cover_url(book: Book) -> str | None:
    """The book's own cover image, or None when it has none (or only a "no photo" stand-in)."""
    url = (book.cover_url or "").strip()
    if not url or any(marker in url for marker in PLACEHOLDER_MARKERS):
        return None
    return url


def cover_version(book: Book) -> str:
    """Changes whenever the drawn cover would: browsers may keep a cover URL for good."""
    key = f"{book.title}\x1f{book.authors}\x1f{book.category_id}"
    return format(zlib.crc32(key.encode("utf-8")), "08x")


def wrap(text: str, width: int, max_lines: int) -> list[str]:
    """Words of ``text`` in lines of at most ``width`` characters; the last line ends in "…" if cut."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > width:  # a word longer than a line is broken
            if current:
                lines.append(current)
                current = ""
            lines.append(word[: width - 1] + "-")
            word = word[width - 1 :]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        kept = lines[:max_lines]
        kept[-1] = kept[-1][: width - 1].rstrip() + "…"
        return kept
    return lines


def design(book: Book) -> CoverDesign:
    """Colours and pattern from the category (the same for all its books), text from the book."""
    category = book.category
    seed = zlib.crc32((category.slug if category else UNCATEGORISED).encode("utf-8"))
    background, band, ink = PALETTES[seed % len(PALETTES)]
    pattern = PATTERNS[(seed // len(PALETTES)) % len(PATTERNS)]
    title_lines = wrap(book.title or "Untitled", TITLE_CHARS, TITLE_LINES) or ["Untitled"]
    first_author = (book.authors or "").split(",")[0].strip()
    return CoverDesign(
        background=background,
        band=band,
        ink=ink,
        pattern=pattern,
        title_lines=title_lines,
        author_lines=wrap(first_author, AUTHOR_CHARS, AUTHOR_LINES),
        label=category.name.upper() if category else "",
        title_size=22 if len(title_lines) <= 3 else 19,
    )
