#!/usr/bin/env bash
# Elasticsearch-mode checks, called by .ci/run: fetches the Elasticsearch
# 8.19.7 test distribution with Maven (cached in ~/.m2 between runs where
# the machine keeps it), unpacks it into a fresh temp dir, starts it on
# free loopback ports as the system user "esuser" (Elasticsearch refuses
# root), and runs the Elasticsearch metastore's conformance suite,
# compat-tests, litmus, rclone and cadaver with `personium serve --metastore elasticsearch`.
# It stops what it started by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

VERSION=8.19.7
JAVA17=/usr/lib/jvm/java-17-openjdk-amd64
M2=$HOME/.m2/repository
ZIP=$M2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$VERSION/elasticsearch-$VERSION.zip

need=()
[ -x "$JAVA17/bin/java" ] || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v unzip >/dev/null || need+=(unzip)
command -v pgrep >/dev/null || need+=(procps)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -f "$ZIP" ]; then
  echo "== fetching Elasticsearch $VERSION (integ-test-zip) with Maven"
  # Output only on failure (Debian's `mvn -q` still prints colour codes).
  out=$(mvn -q -B -Dmaven.repo.local="$M2" dependency:get -Dtransitive=false \
    -Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$VERSION:zip 2>&1) || { echo "$out"; exit 1; }
fi

ESTMP=$(mktemp -d)
ES_PID=
SRV_PID=
cleanup() {
  if [ -n "$SRV_PID" ]; then kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true; fi
  # SIGTERM to the launcher JVM: its shutdown hook stops the server JVM
  # (its child) and waits for it. Before the launcher has recorded its
  # pid, signal runuser, which passes SIGTERM on to it.
  if [ -n "${ES_JAVA:-}" ]; then kill -CONT "$ES_JAVA" 2>/dev/null || true; fi
  if [ -n "$ES_PID" ]; then stop_es; fi
  rm -rf "$ESTMP"
}
trap cleanup EXIT

unzip -q "$ZIP" -d "$ESTMP"
mkdir "$ESTMP/data" "$ESTMP/logs" "$ESTMP/tmp"
id esuser >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin esuser
chown -R esuser: "$ESTMP"
read -r PORT TPORT < <(python3 -c 'import socket; s=[socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
URL=http://127.0.0.1:$PORT
# start_es starts the node in the background (again after stop_es: same
# ports, same data). `bash -c` writes its own pid, which the exec'd
# launcher JVM keeps; ES_JAVA_OPTS/ES_TMPDIR keep its heap small and its
# scratch files inside $ESTMP.
start_es() {
  rm -f "$ESTMP/launcher.pid"
  (cd "$ESTMP" && exec runuser -u esuser -- bash -c 'echo $$ >launcher.pid; exec "$@"' _ \
    env ES_JAVA_HOME="$JAVA17" ES_JAVA_OPTS='-Xms1g -Xmx1g' ES_TMPDIR="$ESTMP/tmp" \
    "$ESTMP/elasticsearch-$VERSION/bin/elasticsearch" \
    -E discovery.type=single-node -E network.host=127.0.0.1 \
    -E http.port="$PORT" -E transport.port="$TPORT" \
    -E cluster.routing.allocation.disk.threshold_enabled=false \
    -E xpack.security.enabled=false -E xpack.ml.enabled=false \
    -E path.data="$ESTMP/data" -E path.logs="$ESTMP/logs") >>"$ESTMP/console.log" 2>&1 &
  ES_PID=$!
  local deadline=$((SECONDS + 120))
  until curl -fs "$URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$ES_PID" 2>/dev/null; then
      echo "Elasticsearch did not become ready:"; tail -30 "$ESTMP/console.log"; exit 1
    fi
    sleep 0.5
  done
}
# stop_es stops it as cleanup does, and waits.
stop_es() {
  if [ -s "$ESTMP/launcher.pid" ]; then kill "$(cat "$ESTMP/launcher.pid")" 2>/dev/null || true
  else kill "$ES_PID" 2>/dev/null || true; fi
  wait "$ES_PID" 2>/dev/null || true
  ES_PID=
}
start_es
echo "== Elasticsearch $VERSION on $URL (launcher pid $(cat "$ESTMP/launcher.pid")), up after $(( $(date +%s) - start )) s"
export PERSONIUM_TEST_ES_URL=$URL

echo "== the Elasticsearch metastore's conformance suite against the node"
go test -count=1 ./internal/metastore/elastic/...

echo "== compat-tests with --metastore elasticsearch"
COMPAT_SERVE_FLAGS="--metastore elasticsearch --es-url $URL" go test -count=1 ./compat-tests

echo "== litmus with --metastore elasticsearch"
# Its own index prefix: the compat-tests server, another unit with other
# keys, recorded its secrets under the default one (a process with other
# keys on the same prefix refuses to start).
SERVE_FLAGS="--metastore elasticsearch --es-url $URL --es-index-prefix litmus" compat-tests/clients/litmus.sh

echo "== rclone and cadaver with --metastore elasticsearch"
SERVE_FLAGS="--metastore elasticsearch --es-url $URL --es-index-prefix rclone" compat-tests/clients/rclone.sh
SERVE_FLAGS="--metastore elasticsearch --es-url $URL --es-index-prefix cadaver" compat-tests/clients/cadaver.sh

echo "== Elasticsearch outage: 503 PR503-SV-0006 while the node is frozen or down, recovery when it is back"
go build -o "$ESTMP/personium" ./cmd/personium
SRV=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$ESTMP/personium" serve --listen "$SRV" --data "$ESTMP/srv" --master-token outage-token \
  --metastore elasticsearch --es-url "$URL?timeout=2s" --es-index-prefix outage >"$ESTMP/srv.log" 2>&1 &
SRV_PID=$!
# expect STATUS PATH [CODE]: one GET of PATH (a POST of a cell named X
# when PATH is __ctl/Cell:X) answers STATUS, with CODE in the body.
expect() {
  local want=$1 path=$2 code=${3:-} got
  if [ "${path%%:*}" = __ctl/Cell ]; then
    got=$(curl -s -m 20 -o "$ESTMP/body" -w '%{http_code}' -X POST -H 'Authorization: Bearer outage-token' \
      -H 'Content-Type: application/json' -d "{\"Name\":\"${path#*:}\"}" "http://$SRV/__ctl/Cell")
  else
    got=$(curl -s -m 20 -o "$ESTMP/body" -w '%{http_code}' "http://$SRV/$path")
  fi
  if [ "$got" != "$want" ] || { [ -n "$code" ] && ! grep -q "\"$code\"" "$ESTMP/body"; }; then
    echo "/$path: $got $(cat "$ESTMP/body"), want $want $code"; tail -20 "$ESTMP/srv.log"; exit 1
  fi
}
for _ in $(seq 50); do curl -fs -o /dev/null "http://$SRV/" && break; sleep 0.2; done
expect 201 __ctl/Cell:outage1
expect 200 outage1/
ES_JAVA=$(pgrep -P "$(cat "$ESTMP/launcher.pid")" java)
kill -STOP "$ES_JAVA"   # stalled: answers nothing until the request timeout
expect 503 outage1/ PR503-SV-0006
expect 503 __ctl/Cell:outage2 PR503-SV-0006
kill -CONT "$ES_JAVA"   # it catches up, and may write what the failed request sent
expect 200 outage1/
stop_es                 # down: connections refused
expect 503 outage1/ PR503-SV-0006
expect 503 __ctl/Cell:outage3 PR503-SV-0006
start_es
for _ in $(seq 60); do curl -fs -o /dev/null "http://$SRV/outage1/" && break; sleep 0.5; done
expect 200 outage1/
expect 201 __ctl/Cell:outage3
# The cell whose creation failed while the node stalled either exists
# (the node wrote it when it caught up) or can be created within seconds
# (the server frees what a failed request left); never a name stuck.
for _ in $(seq 30); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$SRV/outage2/")" = 200 ] && break
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer outage-token' \
    -H 'Content-Type: application/json' -d '{"Name":"outage2"}' "http://$SRV/__ctl/Cell")" = 201 ] && break
  sleep 0.5
done
expect 200 outage2/
echo "outage checks passed"

echo "== Elasticsearch-mode checks took $(( $(date +%s) - start )) s"
