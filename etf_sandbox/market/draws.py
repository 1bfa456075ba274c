"""Random draws that stay put when the market grows: per kind, per calendar year, per fund.

Why: the market's end follows the calendar (`build.market_end`), and the funds listed after
ANCHOR are added a year at a time. Drawn from one stream, every number would shift whenever a
year or a fund was added (moving the end once changed KODEX 200's close from ~30,000 to
716,555). Here every kind of draw has its own stream, the path noise one stream per calendar
year, and each stream fills fund after fund (a fund's draws are a contiguous run), so adding
funds at the end or years after the last leaves every earlier number as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np

from etf_sandbox.market.reference import _stable_seed

# draw(rng, shape) -> array of that shape, e.g. `lambda g, s: g.standard_normal(s)`
Draw = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


class Draws:
    """The market's sources of randomness for `seed` over `sessions` (path rows 0 … len)."""

    def __init__(self, seed: int, sessions: tuple[date, ...]) -> None:
        self.seed = seed
        self.t_rows = len(sessions) + 1
        # (year, first row, end row) of each calendar year; row 0, the hidden session before
        # START, belongs to START's year
        years = np.array([sessions[0].year] + [d.year for d in sessions])
        starts = np.flatnonzero(np.r_[True, years[1:] != years[:-1]])
        ends = np.r_[starts[1:], len(years)]
        self.years = [(int(years[a]), int(a), int(b)) for a, b in zip(starts, ends, strict=True)]

    def stream(self, *kind: object) -> np.random.Generator:
        """A generator of its own for one kind of draw (e.g. per-fund parameters: fill fund
        after fund, so the first n values never depend on how many funds follow)."""
        return np.random.default_rng(_stable_seed(self.seed, *kind))

    def fund(self, kind: str, n: int, draw: Draw, width: int = 1) -> np.ndarray:
        """`width` values per fund for n funds, fund after fund: shape (n,) or (n, width)."""
        out = draw(self.stream(kind), (n, width))
        return out[:, 0] if width == 1 else out

    def rows(self, kind: str, n: int, draw: Draw) -> np.ndarray:
        """A [row, fund] array of one kind of path noise: each calendar year from its own
        stream, fund after fund within it, so neither a later year nor an added fund moves an
        earlier value."""
        blocks = [draw(self.stream(kind, year), (n, end - start)).T
                  for year, start, end in self.years]  # fmt: skip
        return np.concatenate(blocks, axis=0)

    def uniform_at(self, kind: str, *keys: np.ndarray) -> np.ndarray:
        """A uniform [0, 1) number per element of `keys` (integer arrays of one shape, e.g.
        fund and row of each payout), a hash of (seed, kind, keys): for sparse events whose
        number depends on the market's length."""
        h = np.full(np.shape(keys[0]), np.uint64(_stable_seed(self.seed, kind)), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for key in keys:
                h = _splitmix64(h ^ (np.asarray(key).astype(np.uint64) & _MASK64))
        return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """One round of SplitMix64 (Steele et al.): a cheap bijective mix of 64-bit integers."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))
