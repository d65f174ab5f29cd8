#!/usr/bin/env bash
# Bee-mode checks (issue 8), called by .ci/run: builds Bee v2.7.0 from the
# tools module (cached between runs where the machine keeps
# ~/.cache), starts `bee dev` (an offline node with a mocked chain) on a
# free loopback port, buys a postage batch, and runs the Bee store's
# conformance suite, litmus with `personium serve --store bee`, and a
# `personium swarm push` of a cell followed by reads through the node
# alone. It stops what it started by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/personium-ci
BEE=$CACHE/bee-v2.7.0
if [ ! -x "$BEE" ]; then
  echo "== building bee v2.7.0 (tools module)"
  mkdir -p "$CACHE"
  (cd tools && CGO_ENABLED=0 go build -trimpath -o "$BEE.tmp" github.com/ethersphere/bee/v2/cmd/bee)
  mv "$BEE.tmp" "$BEE"
fi

BEEHOME=$(mktemp -d)
BEE_PID=
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$BEE_PID" ]; then kill "$BEE_PID" 2>/dev/null || true; wait "$BEE_PID" 2>/dev/null || true; fi
  rm -rf "$BEEHOME"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
HOME=$BEEHOME "$BEE" dev --api-addr "127.0.0.1:$PORT" >"$BEEHOME/bee.log" 2>&1 &
BEE_PID=$!
for _ in $(seq 100); do curl -fs "$URL/health" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$URL/health" >/dev/null || { echo "bee dev did not start:"; tail -20 "$BEEHOME/bee.log"; exit 1; }
BATCH=$(curl -fsS -X POST "$URL/stamps/10000000/20?label=ci" | python3 -c 'import json,sys; print(json.load(sys.stdin)["batchID"])')
echo "== bee dev on $URL (pid $BEE_PID), postage batch $BATCH"

echo "== the Bee store's conformance suite against the node"
PERSONIUM_TEST_BEE_URL=$URL PERSONIUM_TEST_BEE_BATCH=$BATCH go test -count=1 ./swarm/bee

echo "== compat-tests with --store bee"
COMPAT_SERVE_FLAGS="--store bee --bee-url $URL --bee-batch $BATCH" go test -count=1 ./compat-tests

echo "== litmus with --store bee"
SERVE_FLAGS="--store bee --bee-url $URL --bee-batch $BATCH" compat-tests/clients/litmus.sh

echo "== swarm push of a cell, then reads through Bee only"
PBIN=$BEEHOME/personium
go build -o "$PBIN" ./cmd/personium
PDATA=$BEEHOME/pushdata
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PU=http://127.0.0.1:$PPORT
serve() { "$PBIN" serve --listen "127.0.0.1:$PPORT" --data "$PDATA" --master-token mt --log-level warn "$@" >>"$BEEHOME/push-server.log" 2>&1 &
  SERVER_PID=$!; for _ in $(seq 100); do curl -fs "$PU/" >/dev/null 2>&1 && break; sleep 0.1; done; }
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }
serve
head -c 5000000 /dev/urandom >"$BEEHOME/big.bin"
printf 'hello swarm' >"$BEEHOME/small.txt"
curl -fsS -X POST "$PU/__ctl/Cell" -H 'Authorization: Bearer mt' -d '{"Name":"pushed"}' >/dev/null
for f in big.bin small.txt; do
  curl -fsS -X PUT "$PU/pushed/__/$f" -H 'Authorization: Bearer mt' --data-binary "@$BEEHOME/$f" >/dev/null
done
stop_server
"$PBIN" swarm push --data "$PDATA" --bee-url "$URL" --bee-batch "$BATCH" --cell pushed 2>/dev/null
mv "$PDATA/chunks" "$PDATA/chunks.local"   # reads can only come from the node now
serve --store bee --bee-url "$URL" --bee-batch "$BATCH"
for f in big.bin small.txt; do
  curl -fsS "$PU/pushed/__/$f" -H 'Authorization: Bearer mt' | cmp - "$BEEHOME/$f"
done
stop_server
echo "pushed files read back byte-identical through Bee only"
"$PBIN" swarm status --data "$PDATA" --bee-url "$URL" --cell pushed | tee "$BEEHOME/status.out"
grep -q '^local only .*__/big.bin$' "$BEEHOME/status.out"   # bee dev has no network to sync to

echo "== Bee-mode checks took $(( $(date +%s) - start )) s"
