#!/usr/bin/env bash
# A basic cadaver session (Debian package "cadaver"): make a collection,
# upload, list, set and read a property, lock and unlock, copy, move,
# download and compare, delete. Any error cadaver reports fails the run.
# Usage: compat-tests/clients/cadaver.sh   (needs go, curl, python3, cadaver)
source "$(dirname "$0")/lib.sh"
export HOME=$WORK
host=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.urlparse(sys.argv[1]).hostname)' "$BOX")
printf 'machine %s login %s password %s\n' "$host" "$DAVUSER" "$DAVPASS" > "$HOME/.netrc"
chmod 600 "$HOME/.netrc"
cd "$WORK"
head -c 100000 /dev/urandom > upload.bin
cadaver -t "$BOX" > cadaver.out 2>&1 <<'CMDS'
mkcol session
cd session
put upload.bin
ls
propset upload.bin color blue
propget upload.bin color
lock upload.bin
unlock upload.bin
copy upload.bin copy.bin
move copy.bin moved.bin
get moved.bin downloaded.bin
delete upload.bin
ls
cd ..
rmcol session
quit
CMDS
cat cadaver.out
cmp upload.bin downloaded.bin
grep -q 'blue' cadaver.out || { echo "cadaver: property not read back"; exit 1; }
if grep -Eiq 'failed|error|not allowed|forbidden|denied' cadaver.out; then echo "cadaver: an operation failed"; exit 1; fi
echo "cadaver: session OK"
