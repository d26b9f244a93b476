"""Prints each project-edge CloudFront Function's deployed size against CloudFront's 10 KB limit.

Rendered with a route-store id of the real length and the longest domain the template accepts, so the
numbers are the worst case. Run: `python -m bench.edge_functions` from the repository root.
"""

from __future__ import annotations

from templates import cloudfront_functions as cff

KVS_ID = "00000000-0000-4000-8000-000000000000"
LONGEST_DOMAIN = ("a" * 63 + ".") * 3 + "a" * 8  # 200 characters, the Domain parameter's maximum


def main() -> None:
    for name in cff.FUNCTIONS:
        size = cff.rendered_size(name, KVS_ID, LONGEST_DOMAIN)
        print(f"{name:<14} {size:>6} bytes  {size / cff.SIZE_LIMIT:6.1%} of {cff.SIZE_LIMIT} bytes")


if __name__ == "__main__":
    main()
