"""A seeded synthetic day of viewer traffic for the catalog, as CloudFront would see it.

The day is described per object (one cache key): how many requests a day it gets from
many independent viewers (`cdn_model.Stream`), where they are (`EDGE_LOCATIONS`) and
when (`HOURLY_SHARE`). `cdn_model.expected` turns that into offload in closed form;
`sample_trace` draws the same day request by request for `cdn_model.simulate`.

Every number below is an assumption about the audience, stated once here (the README's
performance section repeats them with what a real deployment could contradict):

* Audience: SESSIONS_PER_DAY sessions (a platform with millions of users: a million
  sessions a day); start times follow HOURLY_SHARE (Singapore time, evening peak); each
  session uses one edge location (EDGE_LOCATIONS: weighted by the metro's internet users
  for a South-East-Asia-first audience, each tied to its regional edge cache).
* Catalog: CATALOG_VIDEOS videos (20x the demo catalog), popularity Zipf(ZIPF_S) by rank;
  each lasts DURATION_SECONDS (uniform, fixed per video) and is packaged with the
  publisher's ladder (LADDER, SEGMENT_SECONDS, audio bitrate) under /media/<id>/<version>/.
* A session loads the app shell (index.html at `/`, or at `/videos/<id>` for a deep link,
  DEEP_LINK of sessions), then the hashed JS/CSS unless the browser still has them
  (RETURNING_WITH_ASSETS); lists categories; unless it came by a deep link, lists the first
  page of videos (with its posters), may pick a category (CATEGORY_BROWSE), search
  (SEARCH: popular terms Zipf over SEARCH_TERMS, RARE_SEARCH of them one-off), and page on
  (each next page with NEXT_PAGE, at most MAX_PAGES; keyset cursors are the same for every
  viewer). It plays PLAYS_PER_SESSION videos (Zipf): the detail GET, the play POST (which
  counts the view and grants the media cookies), the poster, the master playlist, a
  rendition playlist (plus RENDITION_SWITCHES more a play), and the segments for the time
  watched (exponential, mean WATCH_MEAN_SECONDS, at most the video) at the rendition mix
  RENDITION_SHARE.
* Sizes are bytes on the wire (compressed where nginx/CloudFront compress).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from scripts.cdn_model import Audience, Request, Stream, copy_path

ROOT = Path(__file__).resolve().parent.parent
SEED_SOURCE = ROOT / "app" / "backend" / "catalog" / "seed.py"
PACKAGER_SOURCE = ROOT / "app" / "backend" / "publishing" / "package.py"
CLIENT_SOURCE = ROOT / "app" / "frontend" / "src" / "api" / "client.ts"


def _module_constant(source: Path, name: str) -> Any:
    """A literal constant of a module, read without importing it (and its dependencies)."""
    for node in ast.parse(source.read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0] if isinstance(node, ast.Assign) else None
        if getattr(target, "id", None) == name and node.value is not None:  # type: ignore[attr-defined]
            return ast.literal_eval(node.value)  # type: ignore[attr-defined]
    raise LookupError(f"{name} not found in {source}")


def _page_size(source: Path = CLIENT_SOURCE) -> int:
    """The web app's page size (`export const PAGE_SIZE = N;`): what every listing asks for."""
    match = re.search(r"export const PAGE_SIZE = (\d+);", source.read_text())
    if match is None:
        raise LookupError(f"PAGE_SIZE not found in {source}")
    return int(match.group(1))


SESSIONS_PER_DAY = 1_000_000
CATALOG_VIDEOS = 20_000
ZIPF_S = 0.8
DEEP_LINK = 0.3
RETURNING_WITH_ASSETS = 0.5
CATEGORY_BROWSE = 0.25
SEARCH = 0.3
RARE_SEARCH = 0.3
SEARCH_TERMS = 200
NEXT_PAGE = 0.35
MAX_PAGES = 8
PLAYS_PER_SESSION = {1: 0.5, 2: 0.33, 3: 0.17}  # number of videos played -> share of sessions
WATCH_MEAN_SECONDS = 360
DURATION_SECONDS = (180, 1200)
# Share of watched segments at each rendition (by height) of the publisher's ladder.
RENDITION_SHARE = {1080: 0.20, 720: 0.40, 480: 0.20, 360: 0.15, 240: 0.05}
RENDITION_SWITCHES = 0.3
SEGMENT_SECONDS: int = _module_constant(PACKAGER_SOURCE, "SEGMENT_SECONDS")
LADDER: tuple[tuple[int, int], ...] = _module_constant(PACKAGER_SOURCE, "LADDER")  # (height, video kbit/s)
AUDIO_KBPS: int = _module_constant(PACKAGER_SOURCE, "AUDIO_BITRATE_KBPS")
PAGE_SIZE = _page_size()
CATEGORIES: tuple[str, ...] = tuple(slug for slug, _ in _module_constant(SEED_SOURCE, "CATEGORIES"))
# Share of the day's sessions starting in each hour 00..23, Singapore time.
HOURLY_SHARE = (
    2.0, 1.2, 0.8, 0.6, 0.5, 0.6, 1.0, 2.0, 3.0, 3.5, 3.8, 4.0,
    4.5, 4.6, 4.3, 4.2, 4.5, 5.0, 6.0, 7.5, 9.0, 9.5, 7.5, 5.0,
)  # fmt: skip
# Edge location -> (regional edge cache, weight of viewers: the metro's internet users, millions, for a
# South-East-Asia-first audience; large metros have several edge locations and share their users).
EDGE_LOCATIONS: dict[str, tuple[str, float]] = {
    "SIN1": ("SIN", 2.0), "SIN2": ("SIN", 2.0), "SIN3": ("SIN", 2.0),
    "KUL1": ("SIN", 4.0), "KUL2": ("SIN", 4.0), "JHB1": ("SIN", 1.5),
    "CGK1": ("SIN", 9.0), "CGK2": ("SIN", 9.0), "CGK3": ("SIN", 9.0), "SUB1": ("SIN", 4.0),
    "BKK1": ("SIN", 6.0), "BKK2": ("SIN", 6.0), "SGN1": ("SIN", 6.0), "HAN1": ("SIN", 5.0),
    "MNL1": ("SIN", 8.0), "MNL2": ("SIN", 8.0), "CEB1": ("SIN", 2.0),
    "HKG1": ("HKG", 3.5), "HKG2": ("HKG", 3.5), "TPE1": ("HKG", 3.0),
    "NRT1": ("NRT", 1.5), "NRT2": ("NRT", 1.5), "KIX1": ("NRT", 0.8), "ICN1": ("ICN", 1.5),
    "BOM1": ("BOM", 2.0), "DEL1": ("BOM", 2.0), "MAA1": ("BOM", 1.0), "BLR1": ("BOM", 1.0), "DXB1": ("BOM", 0.8),
    "SYD1": ("SYD", 1.2), "MEL1": ("SYD", 1.0), "PER1": ("SYD", 0.4), "AKL1": ("SYD", 0.3),
    "FRA1": ("FRA", 0.6), "LHR1": ("LHR", 0.6), "IAD1": ("IAD", 0.5), "SFO1": ("SFO", 0.5),
}  # fmt: skip
SIZES = {
    "index.html": 700,
    "app.js": 150_000,  # React + hls.js bundle, brotli
    "app.css": 4_000,
    "categories": 600,
    "videos page": 3_200,
    "video detail": 450,
    "play": 300,
    "poster": 25_000,
    "master playlist": 450,
    "rendition playlist per segment": 45,
}
ASSETS = ("/assets/index-0a1b2c3d.js", "/assets/index-0a1b2c3d.css")
BROWSER_HEADERS = {"Accept-Encoding": "gzip, deflate, br"}
RATE_BINS_PER_DECADE = 20
CATALOG_SEED = 7  # video durations, versions, categories and search results


def audience() -> Audience:
    return Audience(EDGE_LOCATIONS, HOURLY_SHARE)


def demo_catalog_size() -> int:
    """DEMO_VIDEO_COUNT of the backend's seed module (what a fresh environment serves)."""
    return int(_module_constant(SEED_SOURCE, "DEMO_VIDEO_COUNT"))


def _request(method: str, path: str, size: float, query: dict[str, str] | None = None) -> Request:
    return Request(0.0, "", "", method, path, round(size), query or {}, BROWSER_HEADERS)


def binned(
    make: Callable[[int, int], Request],
    per_day: np.ndarray,
    size: np.ndarray | float,
    bins_per_decade: int = RATE_BINS_PER_DECADE,
) -> list[Stream]:
    """Objects with like rates as one stream each: `copies` objects at their mean rate.

    Requests are kept exactly (copies x mean rate) and bytes too (the stream's size is the
    request-weighted mean). make(index, bin) builds the representative request of a bin
    from one of its objects. Objects with no requests are dropped.
    """
    per_day = np.asarray(per_day, dtype=float)
    size = np.broadcast_to(np.asarray(size, dtype=float), per_day.shape)
    keep = np.flatnonzero(per_day > 0)
    if keep.size == 0:
        return []
    labels = np.floor(np.log10(per_day[keep]) * bins_per_decade).astype(np.int64)
    uniques, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    counts = np.bincount(inverse)
    requests = np.bincount(inverse, weights=per_day[keep])
    bytes_ = np.bincount(inverse, weights=per_day[keep] * size[keep])
    return [
        Stream(
            replace(make(int(keep[first[b]]), b), size=round(bytes_[b] / requests[b])),
            float(requests[b] / counts[b]),
            int(counts[b]),
        )
        for b in range(len(uniques))
    ]


def zipf(n: int, s: float) -> np.ndarray:
    weights = 1 / np.arange(1, n + 1, dtype=float) ** s
    return np.asarray(weights / weights.sum())


def day_streams(sessions: int = SESSIONS_PER_DAY, videos: int = CATALOG_VIDEOS, zipf_s: float = ZIPF_S) -> list[Stream]:
    """The day's objects and their expected requests (rank 1 = the most popular video = id 1)."""
    if sessions <= 0 or videos < PAGE_SIZE * (MAX_PAGES + 1):
        raise ValueError(f"need sessions > 0 and at least {PAGE_SIZE * (MAX_PAGES + 1)} videos")
    rng = np.random.default_rng(CATALOG_SEED)
    popularity = zipf(videos, zipf_s)
    plays_per_session = sum(n * p for n, p in PLAYS_PER_SESSION.items())
    plays = sessions * plays_per_session * popularity  # per video a day
    ids = np.arange(1, videos + 1)
    duration = rng.integers(DURATION_SECONDS[0], DURATION_SECONDS[1] + 1, videos)
    segments = np.ceil(duration / SEGMENT_SECONDS).astype(np.int64)
    version = rng.integers(1, 4, videos)
    listing = sessions * (1 - DEEP_LINK)  # sessions that open the catalog page
    streams: list[Stream] = []

    def media(v: int, name: str) -> str:
        return f"/media/{v}/v{version[v - 1]}/{name}"

    # App shell and assets.
    streams.append(Stream(_request("GET", "/", SIZES["index.html"]), listing))
    streams += binned(
        lambda i, _b: _request("GET", f"/videos/{ids[i]}", 0), sessions * DEEP_LINK * popularity, SIZES["index.html"]
    )
    for path, key in zip(ASSETS, ("app.js", "app.css"), strict=True):
        streams.append(Stream(_request("GET", path, SIZES[key]), sessions * (1 - RETURNING_WITH_ASSETS)))

    # Catalog API, and the posters each listing shows.
    posters = np.zeros(videos)
    page = {"limit": str(PAGE_SIZE)}

    def listing_page(per_day: float, query: dict[str, str], members: np.ndarray, poster_share: float = 1.0) -> None:
        streams.append(Stream(_request("GET", "/api/videos", SIZES["videos page"], {**page, **query}), per_day))
        np.add.at(posters, members, per_day * poster_share)

    streams.append(Stream(_request("GET", "/api/categories", SIZES["categories"]), float(sessions)))
    # The first page is the newest videos; popularity is independent of age, so any PAGE_SIZE videos.
    by_age = rng.permutation(videos)
    # A browser that still has the app's assets still has the first page's posters too.
    listing_page(listing, {}, by_age[:PAGE_SIZE], 1 - RETURNING_WITH_ASSETS)
    for k in range(1, MAX_PAGES + 1):
        listing_page(listing * NEXT_PAGE**k, {"cursor": f"page{k}"}, by_age[k * PAGE_SIZE : (k + 1) * PAGE_SIZE])
    category = rng.integers(0, len(CATEGORIES), videos)
    for c, slug in enumerate(CATEGORIES):
        newest = by_age[category[by_age] == c][:PAGE_SIZE]
        listing_page(listing * CATEGORY_BROWSE / len(CATEGORIES), {"category": slug}, newest)
    # Search results rank by relevance; popular videos match popular terms more often.
    term_share = zipf(SEARCH_TERMS, 1.0)
    for t in range(SEARCH_TERMS):
        results = rng.choice(videos, PAGE_SIZE, replace=False, p=popularity)
        listing_page(listing * SEARCH * (1 - RARE_SEARCH) * term_share[t], {"q": f"term{t}"}, results)
    rare = listing * SEARCH * RARE_SEARCH  # one-off terms: every one its own object
    streams.append(Stream(_request("GET", "/api/videos", SIZES["videos page"], {**page, "q": "rare"}), 1.0, max(1, round(rare))))
    posters += rare * PAGE_SIZE * popularity  # their results, spread like the popular terms'

    # Playback: detail, play, poster, playlists, segments.
    streams += binned(lambda i, _b: _request("GET", f"/api/videos/{ids[i]}", 0), plays, SIZES["video detail"])
    streams += binned(lambda i, _b: _request("POST", f"/api/videos/{ids[i]}/play", 0), plays, SIZES["play"])
    streams += binned(lambda i, _b: _request("GET", media(int(ids[i]), "poster.jpg"), 0), posters + plays, SIZES["poster"])
    streams += binned(lambda i, _b: _request("GET", media(int(ids[i]), "master.m3u8"), 0), plays, SIZES["master playlist"])
    playlist_size = SIZES["rendition playlist per segment"] * segments
    first = np.repeat(np.arange(videos), segments)  # one row per (video, segment)
    index = np.arange(first.size) - np.repeat(np.cumsum(segments) - segments, segments)
    watched = np.exp(-index * SEGMENT_SECONDS / WATCH_MEAN_SECONDS)  # P(a play reaches segment i)
    for height, kbps in LADDER:
        share = RENDITION_SHARE.get(height, 0.0)

        def playlist(i: int, _b: int, h: int = height) -> Request:
            return _request("GET", media(int(ids[i]), f"{h}p/index.m3u8"), 0)

        def segment(i: int, _b: int, h: int = height) -> Request:
            return _request("GET", media(int(ids[first[i]]), f"{h}p/seg{index[i]:05d}.ts"), 0)

        streams += binned(playlist, plays * share * (1 + RENDITION_SWITCHES), playlist_size)
        streams += binned(segment, plays[first] * share * watched, (kbps + AUDIO_KBPS) * 1000 * SEGMENT_SECONDS / 8)
    return streams


def sample_trace(streams: Iterable[Stream], audience: Audience, days: int, seed: int = 1) -> list[Request]:
    """Draw `days` days of the streams request by request (Poisson counts, each copy its own object).

    A copy's path gets a `c<n>-` prefix on its last part (`cdn_model.copy_path`), so copies are
    distinct paths under the same behavior. For small traces: every request is a Python object.
    """
    rng = np.random.default_rng(seed)
    edges = list(audience.edges)
    edge_p = np.array([audience.edges[e][1] for e in edges], dtype=float)
    edge_p /= edge_p.sum()
    hour_p = np.asarray(audience.hourly, dtype=float) / sum(audience.hourly)
    out: list[Request] = []
    for stream in streams:
        for copy in range(stream.copies):
            path = copy_path(stream.request.path, copy)
            n = int(rng.poisson(stream.per_day * days))
            times = rng.integers(0, days, n) * 86400.0 + rng.choice(24, n, p=hour_p) * 3600.0 + rng.random(n) * 3600.0
            for t, e in zip(times.tolist(), rng.choice(len(edges), n, p=edge_p).tolist(), strict=True):
                edge = edges[e]
                out.append(replace(stream.request, time=t, pop=edge, region=audience.edges[edge][0], path=path))
    out.sort(key=lambda r: r.time)
    return out
