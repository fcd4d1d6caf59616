"""Error pages: rendered from one template and a table into self-contained pages, deterministically, at every synth."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aws_cdk import FileSystem

from lib import error_pages
from lib.error_pages import ErrorPagesError
from tests.unit.support import Synthesized

TABLE = error_pages.load_table()
PAGES = error_pages.render_pages()
# What a page may not hold: it is served from S3 while the app may be down, so it cannot load
# anything else, and it must work without script.
FORBIDDEN_TAGS = {"script", "link", "img", "iframe", "object", "embed", "video", "audio", "source", "picture", "form", "base"}
FETCHING_ATTRIBUTES = {"src", "srcset", "action", "formaction", "poster", "data", "background", "ping", "manifest"}


class Page(HTMLParser):
    """The parts of a page the tests check: tags with attributes, texts by tag, CSS."""

    def __init__(self, source: bytes) -> None:
        super().__init__(convert_charrefs=True)
        self.doctype = ""
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, list[str]] = {}
        self.css = ""
        self._open: list[str] = []
        self.feed(source.decode("utf-8"))
        self.close()

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in {"meta"}:  # void elements here: meta only (no img, link, br in these pages)
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if not self._open:
            return
        if self._open[-1] == "style":
            self.css += data
        self.text.setdefault(self._open[-1], []).append(data)

    def attrs_of(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parsed(code: int) -> Page:
    return Page(PAGES[f"{code}.html"])


# ---------------------------------------------------------------- one page per status of the table


def test_one_page_per_status_of_the_table() -> None:
    assert sorted(PAGES) == [f"{code}.html" for code in TABLE]


@pytest.mark.parametrize("code", TABLE)
def test_page_is_self_contained_with_no_external_request_and_no_script(code: int) -> None:
    page = parsed(code)
    assert {tag for tag, _ in page.tags} & FORBIDDEN_TAGS == set(), "tags that load something or run script"
    for tag, attrs in page.tags:
        assert set(attrs) & FETCHING_ATTRIBUTES == set(), f"<{tag}> loads something: {attrs}"
        assert not [a for a in attrs if a.startswith("on")], f"<{tag}> has an inline script handler: {attrs}"
        if "href" in attrs:
            assert attrs["href"] == "/", f"<{tag}> links elsewhere than home: {attrs}"
        if "style" in attrs:
            assert "url(" not in (attrs["style"] or ""), f"<{tag}> loads from a style attribute: {attrs}"
    assert page.css.strip(), "the page carries its own CSS"
    assert not re.search(r"url\(|@import", page.css), "the CSS loads something"
    assert not re.search(rb"https?:|//", PAGES[f"{code}.html"]), "an absolute or protocol-relative URL"


@pytest.mark.parametrize("code", TABLE)
def test_page_declares_charset_viewport_language_and_stays_out_of_search(code: int) -> None:
    page = parsed(code)
    assert page.doctype.lower() == "doctype html"
    (html_attrs,) = page.attrs_of("html")
    assert html_attrs.get("lang") == "en"
    metas = page.attrs_of("meta")
    # The charset comes first in <head>, before any text the browser must decode.
    assert page.tags[2] == ("meta", {"charset": "utf-8"})
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in metas
    assert {"name": "robots", "content": "noindex"} in metas


@pytest.mark.parametrize("code", TABLE)
def test_page_shows_its_own_status_text_and_links_home(code: int) -> None:
    page = parsed(code)
    entry = TABLE[code]
    assert page.text["title"] == [f"{entry['title']} · TAP Stream"]
    assert page.text["h1"] == [entry["heading"]]
    assert entry["message"] in page.text["p"]
    assert str(code) in page.text["p"], "the status code in large type"
    assert page.text["footer"] == [f"Error {code}"]
    (home,) = [attrs for attrs in page.attrs_of("a") if attrs.get("class") == "button"]
    assert home["href"] == "/"
    assert "Go to the catalog" in page.text["a"]
    # The decorative code and mark are hidden from screen readers; the brand link is named.
    assert {"class": "code", "aria-hidden": "true"} in page.attrs_of("p")
    assert {"class": "brand", "href": "/", "aria-label": "TAP Stream home"} in page.attrs_of("a")


@pytest.mark.parametrize("code", TABLE)
def test_server_errors_say_to_try_again_and_client_errors_do_not(code: int) -> None:
    # A 5xx is on our side and usually passes; a 403 or 404 will not change on a retry.
    says_retry = "try again" in TABLE[code]["message"].lower()
    assert says_retry == (code >= 500), TABLE[code]["message"]


def test_no_two_statuses_share_a_heading_or_message() -> None:
    for field in ("heading", "message"):
        values = [entry[field] for entry in TABLE.values()]
        assert len(set(values)) == len(values), f"two statuses show the same {field}"


def test_table_text_is_escaped_and_written_as_ascii(tmp_path: Path) -> None:
    table = tmp_path / "pages.json"
    table.write_text(
        json.dumps({"404": {"title": "A & B", "heading": "<b>x</b>", "message": "It\u2019s gone \u2014 \u201creally\u201d"}})
    )
    (page,) = error_pages.render_pages(table_path=table).values()
    assert b"<h1>&lt;b&gt;x&lt;/b&gt;</h1>" in page
    assert b"<title>A &amp; B \xc2\xb7 TAP Stream</title>" in page  # the template's own middle dot stays UTF-8
    assert b"<p>It&rsquo;s gone &mdash; &ldquo;really&rdquo;</p>" in page
    assert Page(page).text["h1"] == ["<b>x</b>"]


# ---------------------------------------------------------------- deterministic, reproducible, and no drift


def test_rendering_is_deterministic_and_independent_of_the_table_order(tmp_path: Path) -> None:
    reversed_table = tmp_path / "pages.json"
    reversed_table.write_text(json.dumps(dict(reversed(json.loads(error_pages.TABLE.read_text()).items()))))
    assert error_pages.render_pages() == PAGES
    assert error_pages.render_pages(table_path=reversed_table) == PAGES


def test_two_builds_give_the_same_asset_hash_as_the_synthesized_stack(tmp_path: Path, stack: Synthesized) -> None:
    first = error_pages.build(tmp_path / "first")
    second = error_pages.build(tmp_path / "second")
    assert FileSystem.fingerprint(str(first)) == FileSystem.fingerprint(str(second))
    # The synthesized asset of the error pages is that hash: the same sources, the same deployment.
    assert f"asset.{FileSystem.fingerprint(str(first))}" in {
        a["source"]["path"] for a in stack.asset_manifest()["files"].values()
    }


def test_build_undoes_a_hand_edit_and_removes_stray_files(tmp_path: Path) -> None:
    out = error_pages.build(tmp_path / "dist")
    edited = out / "404.html"
    edited.write_bytes(edited.read_bytes().replace(b"Page not found", b"Page not here"))
    (out / "418.html").write_text("<p>stray</p>")
    (out / "old").mkdir()
    (out / "old" / "500.html").write_text("<p>stale</p>")
    error_pages.build(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == PAGES
    assert not list(tmp_path.glob(".dist-*")), "no temporary file left beside the folder"


def test_build_replaces_a_link_with_a_real_file(tmp_path: Path) -> None:
    out = error_pages.build(tmp_path / "dist")
    (tmp_path / "elsewhere.html").write_bytes(PAGES["500.html"])
    (out / "500.html").unlink()
    (out / "500.html").symlink_to(tmp_path / "elsewhere.html")
    (out / "extra.html").symlink_to(tmp_path / "elsewhere.html")
    error_pages.build(out)
    assert not (out / "500.html").is_symlink() and (out / "500.html").read_bytes() == PAGES["500.html"]
    assert not (out / "extra.html").is_symlink() and not (out / "extra.html").exists()


def test_command_line_writes_the_pages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    error_pages.main(["--out", str(tmp_path / "pages")])
    assert {p.name: p.read_bytes() for p in (tmp_path / "pages").iterdir()} == PAGES
    assert "403.html" in capsys.readouterr().out


# ---------------------------------------------------------------- bad sources fail with what is allowed


def write_table(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "pages.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


GOOD_ENTRY = {"title": "T", "heading": "H", "message": "M"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ({}, "expected a non-empty object of status code"),
        ([GOOD_ENTRY], "expected a non-empty object of status code"),
        ({"200": GOOD_ENTRY}, "'200' is not an HTTP error status; allowed: 400-599"),
        ({"404": {"title": "T", "heading": "H"}}, "404 must have exactly the fields ['title', 'heading', 'message']"),
        ({"404": {**GOOD_ENTRY, "hint": "x"}}, "404 must have exactly the fields"),
        ({"404": "Not found"}, "found str"),
        ({"404": {**GOOD_ENTRY, "message": "  "}}, "404.message must be non-empty text"),
        ({"404": {**GOOD_ENTRY, "title": 4}}, "404.title must be non-empty text"),
    ],
)
def test_a_bad_table_fails_with_what_is_allowed(tmp_path: Path, content: object, message: str) -> None:
    with pytest.raises(ErrorPagesError, match=re.escape(message)):
        error_pages.render_pages(table_path=write_table(tmp_path, content))


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("$heading", "$headline", "placeholders ['code', 'headline', 'message', 'title']; allowed and required"),
        ("<h1>$heading</h1>", "<h1>Oops</h1>", "placeholders ['code', 'message', 'title']; allowed and required"),
        ("</style>", "p::after{content:'$ 5'}</style>", "write '$$' for a literal '$'"),
    ],
)
def test_a_bad_template_fails_with_what_is_allowed(tmp_path: Path, replace: str, by: str, message: str) -> None:
    template = tmp_path / "template.html"
    source = error_pages.TEMPLATE.read_text()
    assert replace in source
    template.write_text(source.replace(replace, by))
    with pytest.raises(ErrorPagesError, match=re.escape(message)):
        error_pages.render_pages(template_path=template)


def test_the_deployed_folder_is_not_in_git() -> None:
    # Rendered at every synth: a copy in git could drift from the sources (and would repeat the template).
    root = error_pages.SOURCE_DIR.parents[1]
    probe = (error_pages.BUILD_DIR / "404.html").relative_to(root)
    assert subprocess.run(["git", "check-ignore", "--quiet", str(probe)], cwd=root, check=False).returncode == 0
