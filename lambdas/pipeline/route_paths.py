"""Which request paths of a deployment are its files: the route-store keys the edge looks up.

The edge (templates/server_route.js) sends a GET or HEAD to the bucket when the deployment has a key for
the decoded request path (exact first, then its page form) and to the server otherwise, so this mapping,
not a file extension, decides what is static. Hashed `_app/immutable/` assets need no key: their own
CloudFront behaviour always reads the bucket.
"""

from __future__ import annotations

from collections.abc import Iterable

from lambdas.pipeline.output import page_path

IMMUTABLE_PREFIX = "_app/immutable/"
HTML_SUFFIX = ".html"


def route_paths(files: Iterable[str]) -> dict[str, str]:
    """Request path -> object path (both decoded, `/`-rooted) for the deployment's files, given as paths
    under the deployment prefix (`about.html`, `data.json`, `_app/version.json`).

    A `.html` file is a page: its key is the page form (`blog/index.html` -> `/blog`); the edge also maps
    `/blog/`, `/blog.html` and `/blog/index.html` to that form. Every other file (static files, and
    prerendered `sitemap.xml` or `__data.json`) is keyed by its exact path. Where two files claim one key,
    the file named exactly so wins over a page, and `about.html` over `about/index.html`, whatever the
    order of `files`.
    """
    exact: dict[str, str] = {}
    pages: dict[str, str] = {}
    for name in files:
        relative = name.lstrip("/")
        if not relative or relative.startswith(IMMUTABLE_PREFIX):
            continue
        obj = "/" + relative
        if relative.endswith(HTML_SUFFIX):
            path = page_path(relative)
            if path not in pages or len(obj) < len(pages[path]):
                pages[path] = obj
        else:
            exact[obj] = obj
    return {**pages, **exact}
