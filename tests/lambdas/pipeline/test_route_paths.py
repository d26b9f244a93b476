"""The route keys a deployment's files get: what the edge will find in the bucket, and what it leaves to
the server."""

from __future__ import annotations

from lambdas.pipeline.route_paths import route_paths


def test_static_and_prerendered_files_are_keyed_by_their_exact_path() -> None:
    files = ["data.json", "ads.txt", "favicon.png", "_app/version.json", "sitemap.xml", "blog/__data.json",
             "__data.json"]
    assert route_paths(files) == {f"/{name}": f"/{name}" for name in files}


def test_pages_are_keyed_by_their_page_form() -> None:
    assert route_paths(["index.html", "about.html", "blog/index.html", "docs/intro.html"]) == {
        "/": "/index.html",
        "/about": "/about.html",
        "/blog": "/blog/index.html",
        "/docs/intro": "/docs/intro.html",
    }


def test_immutable_assets_need_no_key() -> None:
    assert route_paths(["_app/immutable/entry/app.B1.js", "_app/immutable/assets/0.C2.css"]) == {}


def test_names_stay_decoded_as_the_files_are_named() -> None:
    assert route_paths(["caf\u00e9.html", "my file+1.txt", "\u65e5\u672c/\u8a9e.json"]) == {
        "/caf\u00e9": "/caf\u00e9.html",
        "/my file+1.txt": "/my file+1.txt",
        "/\u65e5\u672c/\u8a9e.json": "/\u65e5\u672c/\u8a9e.json",
    }


def test_dotted_names_of_routes_are_not_guessed_at() -> None:
    # Only files get keys: `/u/john.doe` or a generated `/og.png` are not among them, so they reach the app.
    paths = route_paths(["index.html", "favicon.png"])
    assert "/u/john.doe" not in paths and "/og.png" not in paths


def test_clashes_resolve_the_same_whatever_the_order() -> None:
    files = ["about/index.html", "about.html", "feed", "feed.html"]
    expected = {"/about": "/about.html", "/feed": "/feed"}
    assert route_paths(files) == expected
    assert route_paths(reversed(files)) == expected


def test_a_leading_slash_and_empty_names_are_tolerated() -> None:
    assert route_paths(["/data.json", "", "/"]) == {"/data.json": "/data.json"}
