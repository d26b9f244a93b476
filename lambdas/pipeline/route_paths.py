"""The route-store paths of a deployment: what the edge looks up to serve a request from the files the
deployment contains.

Every file gets one key `p:<project>/<deployment><path>` (`names.page_key`) except SvelteKit's hashed
`_app/immutable/` files, which the edge recognises by their prefix:

- a static client file (`client/data.json`): its exact URL path (`/data.json`), value the same;
- a prerendered HTML page (`prerendered/about.html`): the page form (`/about`; `index.html` -> `/`,
  `blog/index.html` -> `/blog`), value the object path (`/about.html`);
- any other prerendered file (`prerendered/sitemap.xml`, `prerendered/x/__data.json`): its exact path.

Paths are the decoded (unicode) names exactly as the files are named; nothing is URL-encoded.
"""

from __future__ import annotations

from collections.abc import Iterable

from lambdas.shared import names

IMMUTABLE_DIR = "_app/immutable/"
CLIENT = names.BUILD_CLIENT_DIR + "/"
PRERENDERED = names.BUILD_PRERENDERED_DIR + "/"


def page_path(relative: str) -> str:
    """`index.html` -> `/`, `about.html` -> `/about`, `blog/index.html` -> `/blog` (the edge's form)."""
    path = "/" + relative[: -len(".html")]
    if path == "/index":
        return "/"
    if path.endswith("/index"):
        path = path[: -len("/index")]
    return path


def route_paths(files: Iterable[str]) -> dict[str, str]:
    """Route path -> object path for the build output's files, named as in the archive (`client/...`,
    `prerendered/...`; anything else, such as `server/handler.zip`, has no route). Raises ValueError when
    two files would claim the same path (`about.html` and `about/index.html`, or a prerendered page and
    a client file `about`): the edge could serve only one of them."""
    found: dict[str, str] = {}
    for name in files:
        if name.startswith(CLIENT):
            relative, page = name[len(CLIENT) :], False
        elif name.startswith(PRERENDERED):
            relative = name[len(PRERENDERED) :]
            page = relative.endswith(".html")
        else:
            continue
        if not relative or relative.startswith(IMMUTABLE_DIR):
            continue
        target = "/" + relative
        path = page_path(relative) if page else target
        if found.get(path, target) != target:
            raise ValueError(f"{found[path][1:]!r} and {relative!r} are both served at {path!r}")
        found[path] = target
    return found
