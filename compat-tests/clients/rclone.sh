#!/usr/bin/env bash
# Copies a tree of mixed files (empty, 1 B, 4 KiB, 5 MiB, random bytes,
# unicode and space-bearing names, nested folders) up to a box with rclone
# (Debian package "rclone"), back down, and checks both copies are
# byte-identical. Then it checks rclone's own view (rclone check), a
# sync that deletes, and a server-side move.
# Usage: compat-tests/clients/rclone.sh   (needs go, curl, python3, rclone)
source "$(dirname "$0")/lib.sh"
SRC=$WORK/src BACK=$WORK/back
mkdir -p "$SRC/sub dir/深い/deeper" "$BACK"
: > "$SRC/empty"
printf x > "$SRC/one-byte"
head -c 4096 /dev/urandom > "$SRC/four-kib.bin"
head -c $((5*1024*1024)) /dev/urandom > "$SRC/sub dir/five-mib.bin"
printf 'héllo wörld\n' > "$SRC/sub dir/深い/日本語 ファイル.txt"
head -c 12345 /dev/urandom > "$SRC/sub dir/深い/deeper/odd size+#%.dat"

export RCLONE_CONFIG=$WORK/rclone.conf
cat > "$RCLONE_CONFIG" <<CONF
[box]
type = webdav
url = $BOX
vendor = other
user = $DAVUSER
pass = $(rclone obscure "$DAVPASS")
CONF
R="rclone --retries 1 --low-level-retries 1"
$R copy "$SRC" box:tree
$R copy box:tree "$BACK"
diff -r "$SRC" "$BACK"
$R check "$SRC" box:tree
rm "$SRC/one-byte"
$R sync "$SRC" box:tree
if $R lsf box:tree | grep -qx one-byte; then echo "rclone sync did not delete one-byte"; exit 1; fi
$R moveto "box:tree/four-kib.bin" "box:tree/sub dir/moved.bin"
$R copyto "box:tree/sub dir/moved.bin" "$WORK/moved.bin"
cmp "$WORK/moved.bin" "$SRC/four-kib.bin"
echo "rclone: tree copied up and back byte-identical; check, sync and move work"
