"""The pandas + scipy side of the end-to-end drift benchmark (scripts/bench/drift-e2e.ts).

    python3 scripts/bench/drift_e2e_pandas.py REFERENCE.csv CURRENT.csv BINS

Times what a pandas user writes to answer "did these 20 columns drift?": pandas.read_csv of both
files, then per column ks_2samp, wasserstein_distance and PSI / Jensen-Shannon on the reference's
quantile bins (drift_scipy.column_statistics, the same code the statistics benchmark times).
Interpreter start-up and imports are not timed. Prints one JSON object: seconds (read, statistics,
total), versions, the process's peak RSS, and each column's results for the agreement check.
"""

import json
import resource
import sys
import time

import numpy as np
import pandas as pd
import scipy

from drift_scipy import column_statistics


def main():
    reference_path, current_path, bins = sys.argv[1], sys.argv[2], int(sys.argv[3])
    start = time.perf_counter()
    reference = pd.read_csv(reference_path)
    current = pd.read_csv(current_path)
    read = time.perf_counter() - start
    results = [
        column_statistics(reference[name].dropna().to_numpy(), current[name].dropna().to_numpy(), bins)
        for name in reference.columns
    ]
    total = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": total,
                "readSeconds": read,
                "statisticsSeconds": total - read,
                "pandas": pd.__version__,
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "columns": results,
            }
        )
    )


if __name__ == "__main__":
    main()
