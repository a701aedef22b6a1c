#!/bin/sh
# Liveness probe of the worker, beat and the dispatcher (molam_ops/heartbeat.py):
#   sh /app/deploy/docker/heartbeat-fresh.sh FILE MAX_AGE_SECONDS
# exits 0 when FILE was modified less than MAX_AGE_SECONDS ago, 1 otherwise
# (missing, stale, or a modification time in the future). Only sh, stat and
# date run: no Python start per probe.
set -u
[ $# -eq 2 ] || { echo "usage: $0 FILE MAX_AGE_SECONDS" >&2; exit 2; }
modified=$(stat -c %Y "$1" 2>/dev/null) || { echo "no heartbeat file $1" >&2; exit 1; }
age=$(( $(date +%s) - modified ))
if [ "$age" -ge 0 ] && [ "$age" -lt "$2" ]; then
  exit 0
fi
echo "heartbeat $1 is ${age}s old (limit $2s)" >&2
exit 1
