"""The custom error pages CloudFront shows: one template and a table of statuses, rendered into self-contained files.

`app/error-pages/template.html` holds the page (inline CSS, no script, no external request) with
`$code`, `$title`, `$heading` and `$message` placeholders; `app/error-pages/pages.json` gives each
status its text, as plain text. `build()` renders every page into `app/error-pages/dist/` (not in
git), the folder `lib/cdn.py` deploys, at every synth: the deployed bytes follow from the two
reviewed sources alone, and the same sources always give the same bytes, so the same asset hash.

Only substitution is needed (no loops, no conditions), so the standard library's `string.Template`
does it: the synth gets no new dependency, and the browser tests render the pages with a bare
`python3 lib/error_pages.py --out DIR` (this module imports nothing outside the standard library).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import string
import tempfile
from html.entities import codepoint2name
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent.parent / "app" / "error-pages"
TEMPLATE = SOURCE_DIR / "template.html"
TABLE = SOURCE_DIR / "pages.json"
BUILD_DIR = SOURCE_DIR / "dist"
FIELDS = ("title", "heading", "message")
STATUS_CODE = re.compile(r"[45][0-9]{2}")


class ErrorPagesError(ValueError):
    """The template or the table cannot give a valid set of pages."""


def _escape(text: str) -> str:
    """HTML-escape plain text, and write characters outside ASCII as references (U+2019 -> `&rsquo;`).

    The page text stays ASCII whatever the table holds, as the pages were when written by hand (the
    rendering of today's table is byte-identical to them, so their deployed asset did not change).
    """
    escaped = html.escape(text, quote=True)
    return "".join(c if ord(c) < 128 else f"&{codepoint2name.get(ord(c), f'#{ord(c)}')};" for c in escaped)


def load_table(path: Path = TABLE) -> dict[int, dict[str, str]]:
    """Status code -> {title, heading, message}, validated; the codes in ascending order."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ErrorPagesError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(raw, dict) or not raw:
        raise ErrorPagesError(f"{path}: expected a non-empty object of status code -> {{{', '.join(FIELDS)}}}")
    table: dict[int, dict[str, str]] = {}
    for code, entry in raw.items():
        if not STATUS_CODE.fullmatch(code):
            raise ErrorPagesError(f"{path}: {code!r} is not an HTTP error status; allowed: 400-599")
        if not isinstance(entry, dict) or sorted(entry) != sorted(FIELDS):
            found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise ErrorPagesError(f"{path}: {code} must have exactly the fields {list(FIELDS)}, found {found}")
        for field in FIELDS:
            if not isinstance(entry[field], str) or not entry[field].strip():
                raise ErrorPagesError(f"{path}: {code}.{field} must be non-empty text")
        table[int(code)] = {field: entry[field] for field in FIELDS}
    return dict(sorted(table.items()))


def load_template(path: Path = TEMPLATE) -> string.Template:
    template = string.Template(path.read_text(encoding="utf-8"))
    if not template.is_valid():
        raise ErrorPagesError(f"{path}: a '$' that is not a placeholder; write '$$' for a literal '$'")
    expected = {"code", *FIELDS}
    if set(template.get_identifiers()) != expected:
        raise ErrorPagesError(
            f"{path}: placeholders {sorted(template.get_identifiers())}; allowed and required: {sorted(expected)}"
        )
    return template


def render_pages(template_path: Path = TEMPLATE, table_path: Path = TABLE) -> dict[str, bytes]:
    """File name (`<code>.html`) -> the page's bytes (UTF-8)."""
    template = load_template(template_path)
    return {
        f"{code}.html": template.substitute(code=code, **{k: _escape(v) for k, v in entry.items()}).encode("utf-8")
        for code, entry in load_table(table_path).items()
    }


def build(out_dir: Path = BUILD_DIR, pages: dict[str, bytes] | None = None) -> Path:
    """Make `out_dir` hold exactly the rendered pages; returns it.

    A file whose bytes differ (a hand edit) is rewritten and anything else in the folder is removed,
    so what is deployed is always what the sources give. Writes are atomic (a temporary file renamed
    into place) and skipped when the bytes are already right, so concurrent synths of one checkout agree.
    """
    pages = render_pages() if pages is None else pages
    out_dir.mkdir(parents=True, exist_ok=True)
    for entry in out_dir.iterdir():
        if entry.name not in pages:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink(missing_ok=True)
    for name, content in pages.items():
        target = out_dir / name
        if not target.is_symlink() and target.is_file() and target.read_bytes() == content:
            continue
        # Beside the folder, not in it: another synth's clean-up above never takes it for a stray file.
        fd, temporary = tempfile.mkstemp(dir=out_dir.parent, prefix=f".{out_dir.name}-{name}.")
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render the error pages from app/error-pages/{template.html,pages.json}.")
    parser.add_argument("--out", type=Path, default=BUILD_DIR, help=f"folder to write (default {BUILD_DIR})")
    args = parser.parse_args(argv)
    out_dir = build(args.out)
    print(f"wrote {', '.join(sorted(p.name for p in out_dir.iterdir()))} to {out_dir}")


if __name__ == "__main__":
    main()
