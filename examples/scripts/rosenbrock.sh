#!/bin/sh
# Gradient descent with momentum on the Rosenbrock function f(x, y) = (1 - x)^2 + 100 (y - x^2)^2,
# from (-1.5, 2). A plain program for examples/awk_plain.yaml: it knows nothing of tune and
# prints one JSON object per step on stdout. A run that diverges reports an infinite loss and
# ends (exit status 0: the trial simply did badly).
#   Usage: rosenbrock.sh LR MOMENTUM [STEPS]
if [ $# -lt 2 ]; then
  echo "usage: rosenbrock.sh LR MOMENTUM [STEPS]" >&2
  exit 2
fi
echo "descending from (-1.5, 2) with lr=$1 momentum=$2"
exec awk -v lr="$1" -v momentum="$2" -v steps="${3:-500}" 'BEGIN {
  x = -1.5; y = 2; vx = 0; vy = 0
  for (i = 1; i <= steps; i++) {
    gx = -2 * (1 - x) - 400 * x * (y - x * x)
    gy = 200 * (y - x * x)
    vx = momentum * vx - lr * gx
    vy = momentum * vy - lr * gy
    x += vx
    y += vy
    loss = (1 - x) ^ 2 + 100 * (y - x * x) ^ 2
    if (!(loss < 1e30)) {  # also true for NaN
      print "{\"loss\": Infinity, \"diverged\": true}"
      exit 0
    }
    printf "{\"loss\": %.10g, \"x\": %.6g, \"y\": %.6g}\n", loss, x, y
    fflush()
  }
}'
