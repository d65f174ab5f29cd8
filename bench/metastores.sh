#!/usr/bin/env bash
# Measures the unit on both metadata stores in one run: bench/unitbench
# against `personium serve` on the embedded SQLite store (the baseline),
# then on Elasticsearch (--metastore elasticsearch), with the same sizes,
# and prints both and the ratio Elasticsearch / SQLite:
#   - entity creates per second by single POST (on a sample of $SINGLE) and
#     entities per second through $batch (the rest of the N);
#   - p50/p99 of a filtered list ($filter=value eq …) and of an ordered one
#     ($orderby=value desc&$top=25) over all N entities, and the time to
#     read the first 100,000 of them in pages of 1000 ($skip);
#   - p50/p99 of q= full-text searches over a separate set of $TEXT entities;
# and checks the issue's targets (filtered list p50 <= 30 ms, $batch >=
# 5,000 entities/s) on each.
#
# Usage: bench/metastores.sh [N]        N user entities (default 1000000)
# Environment (all optional):
#   ES_URL   the Elasticsearch node (default http://127.0.0.1:9200); the run
#            uses indices of its own prefix and deletes them at the end
#   TEXT     entities q= searches (default 100000)
#   SINGLE   entities created by single POSTs, timed (default 2000)
#   ROLES    Role creates before the user data (unitbench -n; default 2000:
#            Role creates are single writes too, tens per second on
#            Elasticsearch)
#   BATCH    creates per $batch changeset (default 500, at most 1000)
#   C        concurrent connections for creates (default 8)
#   Q        queries timed per measurement (default 400)
#   KEEP     a folder to keep both runs' output and numbers in
# Needs go and curl. The full output of both runs goes to stdout, the
# table last. A million entities take a while on each backend.
set -euo pipefail
N=${1:-1000000}
ES_URL=${ES_URL:-http://127.0.0.1:9200}
TEXT=${TEXT:-100000}
SINGLE=${SINGLE:-2000}
ROLES=${ROLES:-2000}
BATCH=${BATCH:-500}
C=${C:-8}
Q=${Q:-400}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PREFIX=metastores-$(date +%s)-$$
# The first URL of ES_URL without its options, for curl.
ES=${ES_URL%%,*}
ES=${ES%%\?*}
ES=${ES%/}
ES_STARTED=
cleanup() {
  if [ -n "$ES_STARTED" ]; then
    for ix in docs claims intents; do
      curl -s -o /dev/null -X DELETE "$ES/$PREFIX-$ix" || echo "could not delete index $PREFIX-$ix" >&2
    done
  fi
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$WORK"/*.log "$WORK"/*.tsv "$KEEP"/ 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

curl -fsS -o /dev/null "$ES/_cluster/health" || { echo "no Elasticsearch answers at $ES (set ES_URL)"; exit 1; }
(cd "$ROOT" && go build -o "$WORK/personium" ./cmd/personium && go build -o "$WORK/unitbench" ./bench/unitbench)

common=(-bin "$WORK/personium" -n "$ROLES" -c "$C" -q "$Q" -entities "$N" -single "$SINGLE" -text-entities "$TEXT" -batch "$BATCH")
echo "== sqlite (baseline): $N entities, $TEXT for q=, $(nproc) CPUs"
"$WORK/unitbench" "${common[@]}" -results "$WORK/sqlite.tsv" | tee "$WORK/sqlite.log"
echo
echo "== elasticsearch at $ES, index prefix $PREFIX: $N entities, $TEXT for q="
ES_STARTED=1
"$WORK/unitbench" "${common[@]}" -results "$WORK/es.tsv" \
  -serve-flags "--metastore elasticsearch --es-url $ES_URL --es-index-prefix $PREFIX" | tee "$WORK/es.log"

echo
echo "== $N entities (single POSTs: $SINGLE, the rest by \$batch of $BATCH), q= over $TEXT, $C connections, $Q queries each"
# key, label, format; rows of metrics a run does not have are left out.
awk -F '\t' -v list=$((N < 100000 ? N : 100000)) '
FNR == 1 { file++ }
file == 1 { s[$1] = $2; next }
file == 2 { e[$1] = $2; next }
{
  k = $1
  sub(/LIST/, list, $2)
  if (!(k in s) || !(k in e)) next
  ratio = s[k] > 0 ? sprintf("%.2f", e[k] / s[k]) : "-"
  printf "%-44s %14" $3 " %14" $3 "   %8s\n", $2, s[k], e[k], ratio
}
BEGIN { printf "%-44s %14s %14s   %8s\n", "", "sqlite", "elasticsearch", "es/sqlite" }
' "$WORK/sqlite.tsv" "$WORK/es.tsv" - <<'EOF'
baseline_get_p50_ms	GET {unit} p50, ms (touches no store)	.3f
od_single_creates_per_s	entity creates, single POST, /s	.0f
od_batch_entities_per_s	entity creates, $batch, entities/s	.0f
od_text_batch_entities_per_s	q= set creates, $batch, entities/s	.0f
od_filter_eq_p50_ms	$filter=value eq <n> p50, ms	.2f
od_filter_eq_p99_ms	$filter=value eq <n> p99, ms	.2f
od_orderby_top25_p50_ms	$orderby=value desc&$top=25 p50, ms	.2f
od_orderby_top25_p99_ms	$orderby=value desc&$top=25 p99, ms	.2f
od_q_two_words_p50_ms	q=<two words>&$top=25 p50, ms	.2f
od_q_two_words_p99_ms	q=<two words>&$top=25 p99, ms	.2f
od_q_rare_p50_ms	q=<a rare word> p50, ms	.2f
od_q_rare_p99_ms	q=<a rare word> p99, ms	.2f
od_listing_s	LIST entities in pages of 1000, s	.2f
role_creates_per_s	Role creates, /s	.0f
role_list_p50_ms	Role filtered+ordered list p50, ms	.2f
cold_start_ms	cold start, ms	.0f
rss_end_mb	server RSS at the end, MB (not ES's)	.1f
EOF

echo
for b in sqlite es; do
  awk -F '\t' -v b="$b" '
  $1 == "od_filter_eq_p50_ms" { f = $2 }
  $1 == "od_batch_entities_per_s" { r = $2 }
  END {
    printf "targets, %-13s filtered list p50 %.2f ms (<= 30: %s), $batch %.0f entities/s (>= 5,000: %s)\n",
      (b == "es" ? "elasticsearch:" : "sqlite:"), f, (f <= 30 ? "met" : "MISSED"), r, (r >= 5000 ? "met" : "MISSED")
  }' "$WORK/$b.tsv"
done
