#!/usr/bin/env bash
# Runs the peer comparisons and prints the table for README.md.
#   bash run.sh                 all benchmarks, 6 runs each
#   COUNT=10 bash run.sh Timeout
set -euo pipefail
cd "$(dirname "$0")"
go test -run '^$' -bench "${1:-.}" -benchmem -count "${COUNT:-6}" -benchtime "${BENCHTIME:-1s}" . | tee results.txt |
	go run ./cmd/benchtable
