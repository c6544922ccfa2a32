#!/usr/bin/env bash
# Fails, listing the files, if any tracked or new C file is not clang-formatted.
set -euo pipefail
cf=${1:-clang-format}
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' 2>/dev/null ||
    find . -path ./build\* -prune -o \( -name '*.c' -o -name '*.h' \) -print)
bad=0
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    # Skip build trees (any top-level dir holding a CMakeCache.txt), whatever their name.
    top=${f%%/*}
    [ "$top" != "$f" ] && [ -f "$top/CMakeCache.txt" ] && continue
    if ! "$cf" --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)"
        bad=1
    fi
done
echo "checked ${#files[@]} files"
exit $bad
