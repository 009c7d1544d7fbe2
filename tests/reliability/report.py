"""Figures of a reliability run: counters and latencies, printed as a table and saved as JSON."""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Report", "percentile"]


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` percentile (nearest rank) of `values`; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Report:
    """Counters (`count`), facts (`set`) and latency samples (`time`) of one scenario; thread-safe."""

    name: str
    counters: Counter[str] = field(default_factory=Counter)
    facts: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counters[key] += n

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self.facts[key] = value

    def time(self, key: str, seconds: float) -> None:
        with self._lock:
            self.samples.setdefault(key, []).append(seconds)

    def error(self, text: str) -> None:
        with self._lock:
            if len(self.errors) < 50:
                self.errors.append(text[:300])

    def summary(self) -> dict[str, Any]:
        latencies = {
            key: {
                "n": len(values),
                "p50_ms": round(percentile(values, 0.50) * 1000, 2),
                "p99_ms": round(percentile(values, 0.99) * 1000, 2),
                "max_ms": round(max(values) * 1000, 2),
            }
            for key, values in sorted(self.samples.items())
            if values
        }
        return {
            "name": self.name,
            "counters": dict(sorted(self.counters.items())),
            "facts": self.facts,
            "latency": latencies,
            "errors": self.errors,
        }

    def table(self) -> str:
        summary = self.summary()
        rows: list[tuple[str, str]] = []
        rows += [(key, str(value)) for key, value in summary["facts"].items()]
        rows += [(key, str(value)) for key, value in summary["counters"].items()]
        for key, figures in summary["latency"].items():
            rows.append(
                (
                    f"latency {key}",
                    f"n={figures['n']} p50={figures['p50_ms']} ms p99={figures['p99_ms']} ms max={figures['max_ms']} ms",
                )
            )
        width = max((len(key) for key, _ in rows), default=10)
        lines = [
            f"== reliability report: {self.name} ==",
            *(f"  {key:<{width}}  {value}" for key, value in rows),
        ]
        if summary["errors"]:
            lines.append("  first errors:")
            lines += [f"    {text}" for text in summary["errors"][:10]]
        return "\n".join(lines)

    def publish(self, directory: Path) -> Path:
        """Print the table and write `.last-report-<name>.json` into `directory`; return its path."""
        path = directory / f".last-report-{self.name}.json"
        path.write_text(json.dumps(self.summary(), indent=2, default=str))
        print()
        print(self.table())
        print(f"  (JSON: {path})")
        return path
