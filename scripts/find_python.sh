#!/usr/bin/env bash
# Prints the best Python >= 3.11 on this machine (3.12 preferred), or nothing.
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; }
candidates=()
if command -v pyenv >/dev/null 2>&1; then
  for v in 3.12 3.13 3.11; do
    p=$(pyenv prefix "$(pyenv versions --bare 2>/dev/null | grep -E "^${v//./\\.}(\.[0-9]+)?$" | sort -V | tail -1)" 2>/dev/null)
    [ -n "$p" ] && candidates+=("$p/bin/python3")
  done
fi
candidates+=(python3.12 python3.13 python3.11 python3)
for c in "${candidates[@]}"; do
  if ok "$c"; then command -v "$c" 2>/dev/null || echo "$c"; exit 0; fi
done
