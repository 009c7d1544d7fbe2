"""`python -m containerregistry.cli`: the same as the `creg` console script."""

from __future__ import annotations

from . import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
