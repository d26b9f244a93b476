"""CloudFront Function sources of the project edge.

The code lives in `.js` files next to this module. CloudFront Functions cannot import, so the shared
prelude (`edge_prelude.js`) is put in front of each function's own file. The route-store id and the
domain are only known at deploy time: the template hands the source to `Fn::Sub` with `${KvsId}` and
`${Domain}`; `render` does the same substitution here for the local edge, the tests and the size bench.
"""

from __future__ import annotations

import re
from pathlib import Path

from troposphere import Sub

SOURCE_DIR = Path(__file__).parent
PRELUDE = "edge_prelude.js"
FUNCTIONS = {"cache-route": "cache_route.js", "server-route": "server_route.js"}
VARIABLES = ("KvsId", "Domain")
# CloudFront's limit on a function's code, in bytes.
SIZE_LIMIT = 10 * 1024
# Fn::Sub syntax: `${Name}` is substituted, `${!Name}` stands for a literal `${Name}`.
_PLACEHOLDER = re.compile(r"\$\{(!?)([^}]*)\}")


def source(name: str) -> str:
    """The function's code before substitution: the prelude, then the function's own file."""
    if name not in FUNCTIONS:
        raise KeyError(name)
    code = (SOURCE_DIR / PRELUDE).read_text() + (SOURCE_DIR / FUNCTIONS[name]).read_text()
    unknown = variables(code) - set(VARIABLES)
    if unknown:
        raise ValueError(f"{name}: unknown substitution(s) {sorted(unknown)}; escape a literal as ${{!...}}")
    return code


def variables(code: str) -> set[str]:
    """The names `Fn::Sub` would substitute in `code`."""
    return {m[2] for m in _PLACEHOLDER.finditer(code) if not m[1]}


def function_code(name: str, kvs_id: object, domain: object) -> Sub:
    """`FunctionCode` for the template; `kvs_id`/`domain` are usually GetAtt/Ref."""
    code = source(name)
    values = {"KvsId": kvs_id, "Domain": domain}
    # Only the variables the code uses, so cfn-lint has no unused Sub variable to warn about.
    return Sub(code, **{k: v for k, v in values.items() if k in variables(code)})


def render(name: str, kvs_id: str, domain: str) -> str:
    """The code as CloudFront receives it, i.e. what `Fn::Sub` makes of `source(name)`."""
    values = {"KvsId": kvs_id, "Domain": domain}
    return _PLACEHOLDER.sub(lambda m: "${" + m[2] + "}" if m[1] else values[m[2]], source(name))


def rendered_size(name: str, kvs_id: str, domain: str) -> int:
    return len(render(name, kvs_id, domain).encode())
