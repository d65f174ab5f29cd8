#!/usr/bin/env bash
# Measures a hello-world engine service against a static file GET, in the
# same run, with wrk (Debian package "wrk"): req/s and p50 of each, and
# the service's p50 overhead (issue 6 targets: >= 2,000 req/s and <= 1 ms
# on 2 cores).
# Then a script creating 1,000 entities through _p against 1,000 POSTs
# from curl on one keep-alive connection.
# Usage: bench/engine.sh [duration]   (needs go, curl, python3, wrk, bc)
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

# A script that creates 1,000 entities through _p (one in-process
# request each), timed end to end; and the same number of single POSTs
# from curl's keep-alive connection for comparison.
curl -fsS -X MKCOL "$U/c/__/od" -H "$H" -H 'Content-Type: application/xml' \
  -d '<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>' >/dev/null
curl -fsS -X POST "$U/c/__/od/\$metadata/EntityType" -H "$H" -d '{"Name":"Reading"}' >/dev/null
curl -fsS -X POST "$U/c/__/od/\$metadata/Property" -H "$H" -d '{"Name":"value","_EntityType.Name":"Reading","Type":"Edm.Int32"}' >/dev/null
curl -fsS -X PUT "$U/c/__/svc/__src/bulk.js" -H "$H" --data-binary 'function(request){
  var set = _p.as("client").cell().box().odata("od").entitySet("Reading");
  for (var i = 0; i < 1000; i++) { set.create({value: i, note: "made by a script " + i}); }
  var n = set.query().top(0).inlinecount("allpages").run().d.__count;
  return {status: 200, headers: {"Content-Type": "text/plain"}, body: [String(n)]};
}' >/dev/null
curl -fsS -X PROPPATCH "$U/c/__/svc" -H "$H" \
  -d '<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><p:service language="JavaScript"><p:path name="hello" src="hello.js"/><p:path name="bulk" src="bulk.js"/></p:service></D:prop></D:set></D:propertyupdate>' >/dev/null
t=$(curl -fsS -o "$WORK/bulk.out" -w '%{time_total}' "$U/c/__/svc/bulk" -H "$H")
printf '%-22s %10s s       (entities now: %s)\n' "1,000 creates via _p" "$t" "$(cat "$WORK/bulk.out")"
for i in $(seq 1000); do
  [ "$i" = 1 ] || echo next
  printf 'url = "%s"\ndata = "{\\"value\\":%d}"\nheader = "%s"\noutput = "/dev/null"\nfail\n' "$U/c/__/od/Reading" "$i" "$H"
done >"$WORK/curl.cfg"
t0=$(date +%s.%N)
curl -sS -K "$WORK/curl.cfg" || { echo "curl POSTs failed"; exit 1; }
t1=$(date +%s.%N)
printf '%-22s %10.3f s\n' "1,000 POSTs from curl" "$(echo "$t1 - $t0" | bc)"
n=$(curl -fsS "$U/c/__/od/Reading?\$top=0&\$inlinecount=allpages" -H "$H" -H 'Accept: application/json' | python3 -c 'import json,sys; print(json.load(sys.stdin)["d"]["__count"])')
[ "$n" = 2000 ] || { echo "expected 2000 entities, found $n"; exit 1; }
