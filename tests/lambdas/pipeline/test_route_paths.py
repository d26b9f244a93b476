"""The route-key contract between the deploy and the edge: one key per file outside `_app/immutable/`."""

from __future__ import annotations

import pytest

from lambdas.pipeline.route_paths import route_paths


def test_every_file_but_the_immutable_ones_has_a_route() -> None:
    files = [
        "client/_app/immutable/entry/app.1a2b.js",
        "client/_app/version.json",
        "client/favicon.png",
        "client/data.json",
        "client/docs/guide.html",  # a static HTML file keeps its exact path
        "client/café/menü.txt",
        "prerendered/index.html",
        "prerendered/about.html",
        "prerendered/blog/index.html",
        "prerendered/sitemap.xml",
        "prerendered/x/__data.json",
        "server/handler.zip",
    ]
    assert route_paths(files) == {
        "/_app/version.json": "/_app/version.json",
        "/favicon.png": "/favicon.png",
        "/data.json": "/data.json",
        "/docs/guide.html": "/docs/guide.html",
        "/café/menü.txt": "/café/menü.txt",  # decoded, as named
        "/": "/index.html",
        "/about": "/about.html",
        "/blog": "/blog/index.html",
        "/sitemap.xml": "/sitemap.xml",
        "/x/__data.json": "/x/__data.json",
    }


@pytest.mark.parametrize(
    "files",
    [
        ["prerendered/about.html", "prerendered/about/index.html"],
        ["client/about", "prerendered/about.html"],
    ],
)
def test_two_files_served_at_one_path_are_refused(files: list[str]) -> None:
    with pytest.raises(ValueError, match="'/about'"):
        route_paths(files)
