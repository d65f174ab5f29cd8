#!/usr/bin/env bash
# Runs litmus (the WebDAV protocol test suite, Debian package "litmus")
# against a fresh server: every group must pass with no failure.
# Usage: compat-tests/clients/litmus.sh   (needs go, curl, python3, litmus)
source "$(dirname "$0")/lib.sh"
cd "$WORK"
TESTS="${LITMUS_TESTS:-basic copymove props locks http}" litmus -k "$BOX" "$DAVUSER" "$DAVPASS" | tee "$WORK/litmus.out"
if grep -Eq 'FAIL|[1-9][0-9]* failed' "$WORK/litmus.out"; then
  echo "litmus: failures (server log follows)"; tail -50 "$WORK/server.log"; exit 1
fi
