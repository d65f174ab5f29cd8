#!/usr/bin/env bash
# Measures a hello-world engine service against a static file GET, in the
# same run, with wrk (Debian package "wrk"): req/s and p50 of each, and
# the service's p50 overhead (issue 6 targets: >= 2,000 req/s and <= 1 ms
# on 2 cores).
# Usage: bench/engine.sh [duration]   (needs go, curl, python3, wrk)
set -euo pipefail
DUR=${1:-10s}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
(cd "$ROOT" && go build -o "$WORK/personium" ./cmd/personium)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
U=http://127.0.0.1:$PORT
"$WORK/personium" serve --listen 127.0.0.1:$PORT --data "$WORK/data" --master-token mt --encrypt=false --log-level warn >"$WORK/log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -fs "$U/" >/dev/null 2>&1 && break; sleep 0.1; done
H='Authorization: Bearer mt'
curl -fsS -X POST "$U/__ctl/Cell" -H "$H" -d '{"Name":"c"}' >/dev/null
curl -fsS -X MKCOL "$U/c/__/svc" -H "$H" -H 'Content-Type: application/xml' \
  -d '<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:service/></D:resourcetype></D:prop></D:set></D:mkcol>' >/dev/null
curl -fsS -X PUT "$U/c/__/svc/__src/hello.js" -H "$H" \
  --data-binary 'function(request){ return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["hello world"]}; }' >/dev/null
curl -fsS -X PROPPATCH "$U/c/__/svc" -H "$H" \
  -d '<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><p:service language="JavaScript"><p:path name="hello" src="hello.js"/></p:service></D:prop></D:set></D:propertyupdate>' >/dev/null
curl -fsS -X PUT "$U/c/__/static.txt" -H "$H" --data-binary 'hello world' >/dev/null
[ "$(curl -fsS "$U/c/__/svc/hello" -H "$H")" = "hello world" ] || { echo "the service does not answer"; exit 1; }
measure() { # name url
  out=$(wrk -t2 -c16 -d"$DUR" --latency -H "$H" "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  printf '%-22s %10s req/s   p50 %s\n' "$1" "$rps" "$p50"
}
echo "wrk -t2 -c16 -d$DUR, server and client on this machine ($(nproc) CPUs)"
measure "hello-world service" "$U/c/__/svc/hello"
measure "static file GET" "$U/c/__/static.txt"
