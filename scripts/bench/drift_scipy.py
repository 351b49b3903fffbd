"""The scipy / numpy side of `npm run bench:drift` (scripts/bench/drift-statistics.ts).

    python3 scripts/bench/drift_scipy.py DATA_DIR COLUMNS BINS

Reads ref_XX.f64 / cur_XX.f64 (raw little-endian float64) for XX in 0..COLUMNS-1, then times the
same work Driftline does, the way a scipy user writes it: ks_2samp (two-sided, method='auto'),
wasserstein_distance, PSI and Jensen-Shannon on the reference's quantile bins. Loading is not
timed. Prints one JSON object: the seconds for all columns, and each column's results so the
caller can check both sides computed the same numbers.
"""

import json
import sys
import time

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

EMPTY_BIN_PROPORTION = 1e-4


def column_statistics(ref, cur, bins):
    ks = stats.ks_2samp(ref, cur, alternative="two-sided", method="auto")
    w1 = stats.wasserstein_distance(ref, cur)
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    rc = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1)
    cc = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1)
    pr = rc / len(ref)
    pc = cc / len(cur)
    prs = np.where(pr == 0, EMPTY_BIN_PROPORTION, pr)
    pcs = np.where(pc == 0, EMPTY_BIN_PROPORTION, pc)
    psi = np.sum((pcs - prs) * np.log(pcs / prs))
    js = jensenshannon(pr, pc, base=2)
    return {"ks": float(ks.statistic), "p": float(ks.pvalue), "w1": float(w1), "psi": float(psi), "js": float(js)}


def main():
    data_dir, columns, bins = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    data = [
        (np.fromfile(f"{data_dir}/ref_{c:02d}.f64", dtype="<f8"), np.fromfile(f"{data_dir}/cur_{c:02d}.f64", dtype="<f8"))
        for c in range(columns)
    ]
    start = time.perf_counter()
    results = [column_statistics(ref, cur, bins) for ref, cur in data]
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "numpy": np.__version__, "scipy": __import__("scipy").__version__, "columns": results}))


if __name__ == "__main__":
    main()
