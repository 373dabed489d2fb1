"""The ``ruralfund`` executable. ``ruralfund serve`` (every service process) loads only
``ruralfund.serve``; everything else loads the whole CLI (``ruralfund.cli``)."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        from .serve import main as serve_main

        serve_main(sys.argv[2:])
        return
    from .cli import main as cli_main

    cli_main()
