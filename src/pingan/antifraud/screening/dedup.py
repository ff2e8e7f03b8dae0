"""The stream consumer's de-duplication window: the transaction ids screened in the last minutes.

A bank may send a transaction again (a gateway's retry, a replay after an outage); JetStream's own
duplicate window (two minutes, by message id) does not cover a re-send with a new message, so the
consumer drops any transaction whose id it screened within `dedup_minutes` (an hour by default).

At 50,000 transactions a second an hour is 180 million ids. The window is therefore kept as sorted
runs of ids (8 bytes an id, no times), oldest first, each never changed once made, with the earliest
and latest time of its transactions:

- a batch's new ids become a run of their own; the newest runs merge while the older is at most
  twice the size of the newer, the two together span at most a quarter of the window and hold at
  most `MAX_RUN` ids, so sizes fall geometrically towards the newest run and no merge holds up the
  consumer for long (a merge of 4 million ids takes up to about 90 ms here); a window at the
  district's pace is one or two runs, an hour at 50,000 a second about 45 full ones and a few;
- a run leaves whole once its latest time is out of the window (memory stays within about 1.25
  windows);
- runs are never changed, so a checkpoint written in a thread shares them with screening.

The first version sorted the whole window again with each batch (then inserted into it): a cost
that grew with the window, about 50 MB copied a batch after a minute at 50,000 a second, 3 GB after
an hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

MAX_RUN = 1 << 22


@dataclass(frozen=True)
class SeenIds:
    """Ids screened within the window, as immutable sorted runs (oldest first)."""

    runs: tuple[I64, ...] = ()
    first_ts: tuple[int, ...] = ()
    last_ts: tuple[int, ...] = ()

    def __len__(self) -> int:
        return sum(r.size for r in self.runs)

    def fresh(self, ids: I64) -> npt.NDArray[np.bool_]:
        """Which of `ids` to screen: the first of each id in the batch, unless the window holds it."""
        # The batch's distinct ids, sorted: each run is searched in order (3 times faster than not).
        uniq, first = np.unique(ids, return_index=True)
        new = np.ones(uniq.size, bool)
        for run in self.runs:
            if run.size:
                pos = np.minimum(np.searchsorted(run, uniq), run.size - 1)
                new &= run[pos] != uniq
        out = np.zeros(ids.size, bool)
        out[first[new]] = True
        return out

    def remembered(self, ids: I64, ts: I64, *, window_us: int) -> SeenIds:
        """The window with `ids` (screened, not yet in it; `ts` their times) added, and the runs whose
        transactions all lie more than `window_us` before the latest time seen dropped."""
        runs, first, last = list(self.runs), list(self.first_ts), list(self.last_ts)
        if ids.size:
            runs.append(np.sort(ids))
            first.append(int(ts.min()))
            last.append(int(ts.max()))
        while (
            len(runs) >= 2
            and runs[-2].size <= 2 * runs[-1].size
            and runs[-2].size + runs[-1].size <= MAX_RUN
            and max(last[-2:]) - min(first[-2:]) <= window_us // 4
        ):
            # Two sorted runs of distinct ids: a stable sort finds the two runs and merges them.
            merged = np.sort(np.concatenate(runs[-2:]), kind="stable")
            span = (min(first[-2:]), max(last[-2:]))
            del runs[-2:], first[-2:], last[-2:]
            runs.append(merged)
            first.append(span[0])
            last.append(span[1])
        if last:
            horizon = max(last) - window_us
            keep = next((i for i, t in enumerate(last) if t > horizon), len(last))
            runs, first, last = runs[keep:], first[keep:], last[keep:]
        return SeenIds(tuple(runs), tuple(first), tuple(last))

    def save(self, path: Path) -> None:
        """Write the runs to one NumPy file."""
        np.savez(
            path,
            allow_pickle=False,
            ids=np.concatenate(self.runs) if self.runs else np.zeros(0, np.int64),
            sizes=np.array([r.size for r in self.runs], np.int64),
            first_ts=np.array(self.first_ts, np.int64),
            last_ts=np.array(self.last_ts, np.int64),
        )

    @classmethod
    def load(cls, path: Path) -> SeenIds:
        """Read what `save` wrote."""
        with np.load(path, allow_pickle=False) as z:
            ids, sizes = z["ids"].astype(np.int64), z["sizes"]
            bounds = np.concatenate([[0], np.cumsum(sizes)])
            runs = tuple(ids[lo:hi] for lo, hi in pairwise(bounds.tolist()))
            return cls(runs, tuple(z["first_ts"].tolist()), tuple(z["last_ts"].tolist()))
