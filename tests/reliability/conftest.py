"""Reliability suite: fault injection, token expiry and load, at CI scale or soak scale.

Every test here carries the `reliability` marker (registered in pyproject.toml), so the suite runs alone:

    .venv/bin/pytest tests/reliability -m reliability -s

Soak scale (the issue's figures: 200 uploads/downloads up to 64 MiB, 20 copies, 60 s of load):

    .venv/bin/pytest tests/reliability -m reliability -s --soak     # or: CREG_SOAK=1 pytest ...

`--soak` is registered by this conftest, which pytest only consults for options when it is an
*initial* conftest, i.e. when `tests/reliability` (or a file in it) is named on the command line.
From the repository root (`pytest -m reliability --soak`) the option is unknown: use `CREG_SOAK=1`,
which works from anywhere. `CREG_RELIABILITY_SEED=<int>` replays a run (the seed is printed).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    try:
        parser.addoption(
            "--soak",
            action="store_true",
            default=False,
            help="run tests/reliability at soak scale (also: CREG_SOAK=1)",
        )
    except ValueError:  # already defined elsewhere
        pass


@dataclass(frozen=True)
class Scale:
    """How big each scenario runs."""

    name: str
    blobs: int  # uploads and downloads per registry (split between sync and async)
    max_size: int  # largest blob
    copies: int  # whole-image copies per registry (split between sync and async)
    load_clients: int
    load_seconds: float
    fault_probability: float


CI = Scale(
    "ci",
    blobs=30,
    max_size=4 * 1024 * 1024,
    copies=4,
    load_clients=200,
    load_seconds=10.0,
    fault_probability=0.2,
)
SOAK = Scale(
    "soak",
    blobs=200,
    max_size=64 * 1024 * 1024,
    copies=20,
    load_clients=200,
    load_seconds=60.0,
    fault_probability=0.2,
)


@pytest.fixture(scope="session")
def scale(pytestconfig: pytest.Config) -> Scale:
    soak = bool(pytestconfig.getoption("soak", default=False)) or os.environ.get("CREG_SOAK") == "1"
    return SOAK if soak else CI


@pytest.fixture
def seed() -> int:
    """The RNG seed of a test (printed; set CREG_RELIABILITY_SEED to replay)."""
    value = int(os.environ.get("CREG_RELIABILITY_SEED") or random.SystemRandom().randrange(2**31))
    print(f"\n[reliability] seed={value} (replay with CREG_RELIABILITY_SEED={value})")
    return value


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where `.last-report-<name>.json` files go (under pytest's temporary base directory)."""
    return tmp_path_factory.getbasetemp()
