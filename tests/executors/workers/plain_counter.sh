#!/bin/sh
# Test helper: a plain program that knows nothing of tune. Prints $1 results as JSON lines on
# stdout, with log lines between them, then exits 0.
n=$1
i=1
while [ "$i" -le "$n" ]; do
  echo "epoch $i starting"
  echo "{\"score\": $i, \"lr\": \"$2\"}"
  i=$((i + 1))
done
