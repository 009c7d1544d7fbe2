"""Testing helpers: a pytest plugin whose fixtures start the local registry emulator.

See `containerregistry.testing.plugin` for the fixtures (`registry_emulator`, `registry_emulator_factory`).
"""

from __future__ import annotations

__all__: list[str] = []
