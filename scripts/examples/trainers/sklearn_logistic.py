#!/usr/bin/env python3
"""Example trainer in Python for Driftline's `local` backend: scikit-learn logistic regression.

Same contract as scripts/examples/trainers/logistic-regression.mjs (see README.md, "Trainer contract"):
  sklearn_logistic.py train   --train CSV --holdout CSV --hyperparameters JSON --output-dir DIR
      writes DIR/model.joblib and DIR/metrics.json
  sklearn_logistic.py predict --model FILE --data CSV --output CSV
      writes a CSV with `prediction` and `probability` columns
Reads CSV with the standard library; needs numpy, scikit-learn and joblib.
"""
import argparse
import csv
import json
import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def read_csv(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path} has no rows")
    return rows


def is_numeric(values):
    try:
        for value in values:
            float(value)
        return True
    except ValueError:
        return False


def matrix(rows, numeric, categorical):
    data = np.empty((len(rows), len(numeric) + len(categorical)), dtype=object)
    for i, row in enumerate(rows):
        for j, name in enumerate(numeric):
            data[i, j] = float(row[name])
        for k, name in enumerate(categorical):
            data[i, len(numeric) + k] = row[name]
    return data


def train(args):
    hp = json.loads(Path(args.hyperparameters).read_text())
    label = hp.get("label", "default")
    rows = read_csv(args.train)
    if label not in rows[0]:
        raise ValueError(f'label column "{label}" is not in {args.train}')
    features = hp.get("features") or [name for name in rows[0] if name != label]
    numeric = [f for f in features if is_numeric(row[f] for row in rows)]
    categorical = [f for f in features if f not in numeric]
    X = matrix(rows, numeric, categorical)
    y = np.array([int(float(row[label])) for row in rows])
    columns = list(range(len(numeric)))
    model = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [
                        ("numeric", StandardScaler(), columns),
                        ("categorical", OneHotEncoder(handle_unknown="ignore"), list(range(len(numeric), len(features)))),
                    ]
                ),
            ),
            ("classify", LogisticRegression(C=float(hp.get("C", 1.0)), max_iter=int(hp.get("maxIter", 500)))),
        ]
    )
    model.fit(X, y)
    probability = model.predict_proba(X)[:, 1]
    out = Path(args.output_dir)
    joblib.dump({"model": model, "numeric": numeric, "categorical": categorical, "label": label}, out / "model.joblib")
    metrics = {"trainAccuracy": float(accuracy_score(y, probability >= 0.5)), "trainLogLoss": float(log_loss(y, probability))}
    (out / "metrics.json").write_text(json.dumps(metrics))
    print(f"trained scikit-learn logistic regression on {len(rows)} rows: {metrics}")


def predict(args):
    bundle = joblib.load(args.model)
    rows = read_csv(args.data)
    X = matrix(rows, bundle["numeric"], bundle["categorical"])
    probability = bundle["model"].predict_proba(X)[:, 1]
    with open(args.output, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prediction", "probability"])
        for p in probability:
            writer.writerow([1 if p >= 0.5 else 0, f"{p:.8f}"])
    print(f"wrote {len(rows)} predictions to {args.output}")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--train", required=True)
    t.add_argument("--holdout", required=True)
    t.add_argument("--hyperparameters", required=True)
    t.add_argument("--output-dir", required=True)
    p = sub.add_parser("predict")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--output", required=True)
    args = parser.parse_args()
    try:
        train(args) if args.command == "train" else predict(args)
    except Exception as error:  # a readable one-line reason for the pipeline's failure record
        print(f"sklearn_logistic: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
