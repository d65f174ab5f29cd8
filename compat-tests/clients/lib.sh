# Shared set-up for the WebDAV client checks: builds personium, starts it
# on a free port with a fresh data folder, and makes a cell "dav" with an
# account "user" (password "password1") whose role "editor" holds D:all
# on the main box. Sourced by litmus.sh, rclone.sh and cadaver.sh.
#
# After sourcing: $BOX is the main box URL, $DAVUSER/$DAVPASS the account,
# $WORK a scratch folder; the server is stopped (by PID) on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d)
BIN=$WORK/personium
MASTER=master-$RANDOM$RANDOM
DAVUSER=user
DAVPASS=password1
SERVER_PID=

cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$BIN" ./cmd/personium)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
UNIT=http://127.0.0.1:$PORT/
"$BIN" serve --listen 127.0.0.1:$PORT --data "$WORK/data" --master-token "$MASTER" ${SERVE_FLAGS:-} >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fs "$UNIT" >/dev/null 2>&1 && break
  sleep 0.1
done

api() { # method url [body] [extra curl args...]
  local m=$1 u=$2 b=${3:-}; shift 3 || shift $#
  curl -fsS -X "$m" -H "Authorization: Bearer $MASTER" ${b:+--data-binary "$b"} "$@" "$u" >/dev/null
}
api POST "${UNIT}__ctl/Cell" '{"Name":"dav"}' -H 'Content-Type: application/json'
CELL=${UNIT}dav/
api POST "${CELL}__ctl/Account" '{"Name":"'$DAVUSER'"}' -H "X-Personium-Credential: $DAVPASS"
api POST "${CELL}__ctl/Role" '{"Name":"editor"}'
api POST "${CELL}__ctl/Account('$DAVUSER')/\$links/_Role" '{"uri":"'${CELL}'__ctl/Role(Name='"'editor'"',_Box.Name=null)"}'
api ACL "${CELL}__/" '<D:acl xmlns:D="DAV:" xml:base="'${CELL}'__role/__/"><D:ace><D:principal><D:href>editor</D:href></D:principal><D:grant><D:privilege><D:all/></D:privilege></D:grant></D:ace></D:acl>'
BOX=${CELL}__/
