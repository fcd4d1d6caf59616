"""A seeded synthetic day of viewer traffic for the catalog, as CloudFront would see it.

Every number below is an assumption about the audience, stated once here:

* Catalog: the demo catalog's size (app/backend/catalog/seed.py), video popularity
  Zipf(s=ZIPF_S); each video lasts 3-20 minutes and is packaged as HLS with the
  RENDITIONS ladder in SEGMENT_SECONDS segments (the publisher's) under /media/<id>/v<version>/.
* Audience: SESSIONS_PER_DAY sessions; start times follow HOURLY_SHARE (Singapore
  time, evening peak); each session uses one edge location (EDGE_LOCATIONS, weighted,
  each tied to its regional edge cache).
* A session: loads the app (index.html, then the hashed JS/CSS unless the browser
  still has them, RETURNING_WITH_ASSETS of the time), lists categories and the first
  page of videos; may search (a popular term, or a rare one), page on (cursor pages);
  opens 1-3 videos (detail GET, view-count POST, HLS playback: master playlist, one
  rendition playlist, segments for the watched time; one rendition switch in
  RENDITION_SWITCH of the plays). Deep links reload index.html.
* Sizes are bytes on the wire (compressed where nginx/CloudFront compress).
"""

from __future__ import annotations

import ast
import bisect
import itertools
import random
from dataclasses import dataclass
from pathlib import Path

from scripts.cdn_model import Request

ROOT = Path(__file__).resolve().parent.parent
SEED_SOURCE = ROOT / "app" / "backend" / "catalog" / "seed.py"
PACKAGER_SOURCE = ROOT / "app" / "backend" / "publishing" / "package.py"


def _module_constant(source: Path, name: str) -> int:
    """An integer constant of a module, read without importing it (and its dependencies)."""
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return int(ast.literal_eval(node.value))
    raise LookupError(f"{name} not found in {source}")


SESSIONS_PER_DAY = 10_000
ZIPF_S = 1.0
SEGMENT_SECONDS = _module_constant(PACKAGER_SOURCE, "SEGMENT_SECONDS")  # what the publisher cuts
# (name, video bitrate incl. audio in bit/s, share of plays that pick it first)
RENDITIONS = (("360p", 900_000, 0.25), ("720p", 2_800_000, 0.55), ("1080p", 5_000_000, 0.20))
RENDITION_SWITCH = 0.3
RETURNING_WITH_ASSETS = 0.5
PAGE_SIZE_ITEMS = 24
# Share of the day's sessions starting in each hour 00..23, Singapore time.
HOURLY_SHARE = (
    2.0, 1.2, 0.8, 0.6, 0.5, 0.6, 1.0, 2.0, 3.0, 3.5, 3.8, 4.0,
    4.5, 4.6, 4.3, 4.2, 4.5, 5.0, 6.0, 7.5, 9.0, 9.5, 7.5, 5.0,
)  # fmt: skip
# Edge location -> (regional edge cache, weight of viewers)
EDGE_LOCATIONS: dict[str, tuple[str, float]] = {
    "SIN1": ("SIN", 14), "SIN2": ("SIN", 12), "SIN3": ("SIN", 8), "KUL1": ("SIN", 8), "KUL2": ("SIN", 4),
    "CGK1": ("SIN", 8), "CGK2": ("SIN", 5), "BKK1": ("SIN", 6), "BKK2": ("SIN", 3), "SGN1": ("SIN", 4),
    "HAN1": ("SIN", 2), "MNL1": ("SIN", 6), "MNL2": ("SIN", 3), "HKG1": ("HKG", 4), "HKG2": ("HKG", 2),
    "TPE1": ("HKG", 2), "NRT1": ("NRT", 2), "NRT2": ("NRT", 1), "ICN1": ("ICN", 1), "BOM1": ("BOM", 2),
    "DEL1": ("BOM", 1), "MAA1": ("BOM", 1), "SYD1": ("SYD", 2), "MEL1": ("SYD", 1), "PER1": ("SYD", 1),
    "FRA1": ("FRA", 0.5), "LHR1": ("LHR", 0.5), "IAD1": ("IAD", 0.5), "SFO1": ("SFO", 0.5), "DXB1": ("BOM", 0.5),
}  # fmt: skip
SIZES = {
    "index.html": 700,
    "app.js": 150_000,  # React + hls.js bundle, brotli
    "app.css": 4_000,
    "categories": 600,
    "videos page": 3_200,
    "video detail": 450,
    "view count": 80,
    "master playlist": 450,
    "rendition playlist per segment": 45,
}
ASSETS = ("/assets/index-0a1b2c3d.js", "/assets/index-0a1b2c3d.css")
CATEGORIES = ("documentary", "music", "sports", "news", "comedy", "drama", "kids", "tech", "travel", "food")
SEARCH_TERMS = 200  # popular search terms (Zipf); 30% of searches are rare one-off terms
BROWSER_HEADERS = {"Accept-Encoding": "gzip, deflate, br"}


def demo_catalog_size() -> int:
    """DEMO_VIDEO_COUNT of the backend's seed module (what a fresh environment serves)."""
    return _module_constant(SEED_SOURCE, "DEMO_VIDEO_COUNT")


@dataclass
class _Picker:
    """Weighted choice by bisection over cumulative weights."""

    items: list[object]
    cumulative: list[float]

    @classmethod
    def of(cls, weighted: list[tuple[object, float]]) -> _Picker:
        items = [w[0] for w in weighted]
        return cls(items, list(itertools.accumulate(w[1] for w in weighted)))

    def __call__(self, rng: random.Random) -> object:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def synthetic_days(seed: int = 1, sessions: int = SESSIONS_PER_DAY, days: int = 2) -> list[Request]:
    """`days` consecutive days (each its own seed), in time order: the model warms its caches
    on all but the last, as a distribution that has served yesterday's traffic has."""
    out: list[Request] = []
    for day in range(days):
        out.extend(synthetic_day(seed + day, sessions, offset=day * 86400.0))
    out.sort(key=lambda r: r.time)
    return out


def synthetic_day(seed: int = 1, sessions: int = SESSIONS_PER_DAY, offset: float = 0.0) -> list[Request]:
    """One day's requests, in time order, starting at `offset` seconds."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible trace, not a secret)
    videos = demo_catalog_size()
    pick_video = _Picker.of([(i + 1, 1 / (i + 1) ** ZIPF_S) for i in range(videos)])
    pick_term = _Picker.of([(f"term{i}", 1 / (i + 1)) for i in range(SEARCH_TERMS)])
    pick_edge = _Picker.of([(name, weight) for name, (_region, weight) in EDGE_LOCATIONS.items()])
    pick_hour = _Picker.of(list(enumerate(HOURLY_SHARE)))
    pick_rendition = _Picker.of([(r, r[2]) for r in RENDITIONS])
    # Each video's length depends on its id only, so every day of the trace agrees on it.
    duration = {v: random.Random(v).randint(180, 1200) for v in range(1, videos + 1)}  # noqa: S311
    version = {v: 1 + (v % 3) for v in range(1, videos + 1)}
    out: list[Request] = []

    for _ in range(sessions):
        pop = str(pick_edge(rng))
        region = EDGE_LOCATIONS[pop][0]
        t = offset + int(pick_hour(rng)) * 3600 + rng.random() * 3600  # type: ignore[call-overload]

        def emit(
            method: str,
            path: str,
            size: int,
            query: dict[str, str] | None = None,
            gap: float = 0.05,
            pop: str = pop,
            region: str = region,
        ) -> None:
            nonlocal t
            t += gap
            out.append(Request(t, pop, region, method, path, size, query or {}, BROWSER_HEADERS))

        def load_app(path: str) -> None:
            emit("GET", path, SIZES["index.html"])
            if rng.random() >= RETURNING_WITH_ASSETS:
                emit("GET", ASSETS[0], SIZES["app.js"])
                emit("GET", ASSETS[1], SIZES["app.css"])

        deep_link = rng.random() < 0.3
        first = int(pick_video(rng))  # type: ignore[call-overload]
        load_app(f"/videos/{first}" if deep_link else "/")
        emit("GET", "/api/categories", SIZES["categories"])
        if not deep_link:
            emit("GET", "/api/videos", SIZES["videos page"], {"limit": str(PAGE_SIZE_ITEMS)})
            if rng.random() < 0.25:
                emit(
                    "GET",
                    "/api/videos",
                    SIZES["videos page"],
                    {"limit": str(PAGE_SIZE_ITEMS), "category": rng.choice(CATEGORIES)},
                    3,
                )
            if rng.random() < 0.3:
                term = str(pick_term(rng)) if rng.random() < 0.7 else f"rare{rng.randrange(10**9)}"
                emit("GET", "/api/videos", SIZES["videos page"], {"limit": str(PAGE_SIZE_ITEMS), "q": term}, 4)
            pages = 0
            while rng.random() < 0.35 and pages < 8:  # keyset cursors are the same for every viewer
                pages += 1
                emit("GET", "/api/videos", SIZES["videos page"], {"limit": str(PAGE_SIZE_ITEMS), "cursor": f"page{pages}"}, 5)
        for n in range(rng.choice((1, 1, 1, 2, 2, 3))):
            video = first if n == 0 else int(pick_video(rng))  # type: ignore[call-overload]
            emit("GET", f"/api/videos/{video}", SIZES["video detail"], gap=2)
            emit("POST", f"/api/videos/{video}/views", SIZES["view count"])
            base = f"/media/{video}/v{version[video]}"
            emit("GET", f"{base}/master.m3u8", SIZES["master playlist"])
            segments = duration[video] // SEGMENT_SECONDS
            watched = min(segments, max(1, int(rng.expovariate(1 / 60))))  # mean ~6 min of 6 s segments
            name, bitrate, _ = pick_rendition(rng)  # type: ignore[misc]
            emit("GET", f"{base}/{name}/index.m3u8", SIZES["rendition playlist per segment"] * segments)
            switch_at = rng.randrange(watched) if rng.random() < RENDITION_SWITCH else -1
            for i in range(watched):
                if i == switch_at:
                    name, bitrate, _ = RENDITIONS[
                        min(len(RENDITIONS) - 1, RENDITIONS.index(next(r for r in RENDITIONS if r[0] == name)) + 1)
                    ]
                    emit("GET", f"{base}/{name}/index.m3u8", SIZES["rendition playlist per segment"] * segments, gap=0.2)
                emit("GET", f"{base}/{name}/seg{i:05d}.ts", bitrate * SEGMENT_SECONDS // 8, gap=SEGMENT_SECONDS if i else 0.2)
    out.sort(key=lambda r: r.time)
    return out
