#!/usr/bin/env bash
# bench/thin-archive.sh: the static hello link with a thin archive made by ldpy-ar
# (libgcc.a + libgcc_eh.a + libc.a, "Linkers"' meta-archive) in place of
# --start-group -lgcc -lgcc_eh -lc --end-group, timed with ldpy and the peers that
# read flattened thin archives (ld.bfd, ld.gold), all in one hyperfine run.
set -euo pipefail
command -v hyperfine >/dev/null || { echo "thin-archive: needs hyperfine" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf '#include <stdio.h>\nint main(void){puts("hello, world");return 0;}\n' > hello.c
gcc -O2 -c hello.c
libgcc=$(gcc -print-libgcc-file-name)
libgcc_eh=$(gcc -print-file-name=libgcc_eh.a)
libc=$(gcc -print-file-name=libc.a)
python3 -m ldpy.ar.main rcsT libclib.a "$libgcc" "$libgcc_eh" "$libc" 2>/dev/null || ldpy-ar rcsT libclib.a "$libgcc" "$libgcc_eh" "$libc"
# gcc's own -static argument list, with the group in one form or the other
gcc -static -### hello.o 2>&1 | grep collect2 | head -1 | tr ' ' '\n' | tr -d '"' |
    awk 'skip { skip = 0; next } /^$/ || /collect2$/ { next } /^-plugin$/ { skip = 1; next } /^-plugin-opt/ { next } { print }' > group.args
sed -e '/^--start-group$/,/^--end-group$/d' group.args > thin.args
# the thin archive goes where the group was (before crtend.o)
awk -v lib="$work/libclib.a" '/crtend.o$/ && !done { print lib; done = 1 } { print }' thin.args > t && mv t thin.args
ldpy_cmd="$(python3 -m ldpy --print-shim-dir)/ld"
for f in group thin; do (cd "$work" && $ldpy_cmd @$f.args -o check-$f && ./check-$f >/dev/null); done
cmds=()
for l in "$ldpy_cmd" ld.bfd ld.gold; do
    command -v "${l%% *}" >/dev/null || [[ -x ${l%% *} ]] || continue
    for f in group thin; do cmds+=("$l @$work/$f.args -o $work/out-$f"); done
done
hyperfine -N -w 2 -r "${RUNS:-10}" "${cmds[@]}" 2>&1 | grep -E "Benchmark|Time"
