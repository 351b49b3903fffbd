#!/bin/sh
# The scale benchmark's trainer: a real but tiny model under the local trainer contract (README,
# "Trainer contract"), in POSIX sh + awk so that one training costs a few milliseconds of process
# start rather than a Node or Python interpreter's.
#
# The model is a decision stump on the first feature column: the threshold that maximises training
# accuracy, with the positive-class share on each side as the predicted probability.
#   train   --train <csv> --holdout <csv> --hyperparameters <json> --output-dir <dir>
#           writes <dir>/model.txt ("column threshold p_below p_above") and <dir>/metrics.json
#   predict --model <model.txt> --data <csv> --output <csv>   writes prediction,probability per row
# The label column is `label` (0/1), unless STUMP_LABEL names another.
set -eu
mode=${1:-}; shift || true
label=${STUMP_LABEL:-label}
while [ $# -gt 0 ]; do
  case "$1" in
    --train) train=$2; shift 2 ;;
    --holdout|--hyperparameters) shift 2 ;;
    --output-dir) out=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    *) echo "stump: unknown argument $1" >&2; exit 2 ;;
  esac
done

case "$mode" in
  train)
    awk -F, -v label="$label" -v out="$out" '
      NR == 1 { for (i = 1; i <= NF; i++) { if ($i == label) y = i; else if (!x) { x = i; name = $i } } next }
      { n++; v[n] = $x + 0; t[n] = $y + 0; pos += t[n] }
      END {
        if (!x || !y || n == 0) { print "stump: need a label column and a feature column" > "/dev/stderr"; exit 2 }
        # Sort by the feature (insertion sort: the benchmark data are small), then sweep thresholds.
        for (i = 2; i <= n; i++) { a = v[i]; b = t[i]; j = i - 1; while (j > 0 && v[j] > a) { v[j+1] = v[j]; t[j+1] = t[j]; j-- } v[j+1] = a; t[j+1] = b }
        best = pos; cut = v[1] - 1; below = 0; belowPos = 0
        for (i = 1; i <= n; i++) {
          below++; belowPos += t[i]
          if (i < n && v[i] == v[i+1]) continue
          correct = (below - belowPos) + (pos - belowPos)   # predict 0 below the cut, 1 above
          if (correct > best) { best = correct; cut = (i < n) ? (v[i] + v[i+1]) / 2 : v[i]; nb = below; nbPos = belowPos }
        }
        pBelow = nb ? (nbPos + 1) / (nb + 2) : 0.5
        pAbove = (n - nb) ? (pos - nbPos + 1) / (n - nb + 2) : 0.5
        printf "%s %.10g %.6f %.6f\n", name, cut, pBelow, pAbove > (out "/model.txt")
        printf "{\"trainAccuracy\": %.6f, \"rows\": %d}\n", best / n, n > (out "/metrics.json")
      }' "$train"
    ;;
  predict)
    read -r column cut pBelow pAbove < "$model"
    awk -F, -v column="$column" -v cut="$cut" -v pb="$pBelow" -v pa="$pAbove" '
      NR == 1 { for (i = 1; i <= NF; i++) if ($i == column) x = i; if (!x) { print "stump: no column " column > "/dev/stderr"; exit 2 } print "prediction,probability"; next }
      { if ($x + 0 > cut + 0) print "1," pa; else print "0," pb }' "$data" > "$output"
    ;;
  *) echo "usage: stump.sh train|predict ..." >&2; exit 2 ;;
esac
