#!/usr/bin/env bash
# bench/run.sh [JOB...]
#
# Builds the link-job corpus (once, in $CORPUS), then times ldpy and every peer
# linker that is installed (ld.bfd, ld.gold, ld.lld, mold) on the jobs in ONE run,
# checks every linked program, and prints the report and ldpy's time ratios.
#
#   bench/run.sh                              # the default jobs below
#   bench/run.sh openssl-static llvm-big      # chosen jobs
#   ALL=1 bench/run.sh                        # every job (llvm needs llvm-14-dev, ~1 GB)
#
# Environment: CORPUS (default ~/.cache/ldpy-bench), LDPY (default: the shim's ld), NO_INSTALL=1 (do not apt-get missing packages),
# NO_SERVER=1 (do not also time ldpy with LDPY_SERVER=1),
# and everything run-bench.sh reads (MIN_RUNS, MAX_RUNS, RESULTS, ...).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CORPUS=${CORPUS:-${XDG_CACHE_HOME:-$HOME/.cache}/ldpy-bench}
DEFAULT_JOBS=(hello-c-dynamic hello-c-static zlib-static-pie sqlite-static openssl-static cxx-exceptions-tls)
ALL_JOBS=(hello-c-dynamic hello-c-static zlib-static-pie sqlite-static openssl-static cxx-exceptions-tls
          cpython-static-libpython llvm-big llvm-big-g)
if [[ $# -gt 0 ]]; then jobs=("$@"); elif [[ ${ALL:-0} == 1 ]]; then jobs=("${ALL_JOBS[@]}"); else jobs=("${DEFAULT_JOBS[@]}"); fi

if [[ ${NO_INSTALL:-0} != 1 ]]; then
    missing=()
    for tool in hyperfine mold ld.lld; do command -v "$tool" >/dev/null || missing+=("$tool"); done
    if [[ ${#missing[@]} -gt 0 ]]; then
        pkgs=(); for t in "${missing[@]}"; do case $t in ld.lld) pkgs+=(lld);; *) pkgs+=("$t");; esac; done
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
    fi
fi

need=()
for j in "${jobs[@]}"; do [[ -f $CORPUS/$j/ld.args ]] || need+=("$j"); done
if [[ ${#need[@]} -gt 0 ]]; then "$HERE/make-corpus.sh" "$CORPUS" "${need[@]}"; fi

# ldpy as gcc runs it: the `ld` of `ldpy --print-shim-dir` (it starts the interpreter
# directly, not through wrappers such as pyenv's shims)
if [[ -n ${LDPY:-} ]]; then ldpy_cmd=$LDPY
else ldpy_cmd="$(python3 -m ldpy --print-shim-dir)/ld"; fi
# byte-compiled modules, as an installed package has them
python3 -c 'import ldpy, compileall, os; compileall.compile_dir(os.path.dirname(ldpy.__file__), quiet=1)' || true

linkers=("ldpy=$ldpy_cmd")
# ldpy with its persistent link server (LDPY_SERVER=1: no Python/numpy start-up per link)
if [[ ${NO_SERVER:-0} != 1 ]]; then linkers+=("ldpy-server=env LDPY_SERVER=1 $ldpy_cmd"); fi
for l in ld.bfd ld.gold ld.lld mold; do
    if command -v "$l" >/dev/null; then linkers+=("$l"); else echo "bench: $l not installed, skipped" >&2; fi
done
RESULTS=${RESULTS:-$CORPUS/results/$(date +%Y%m%d-%H%M%S)}
export RESULTS
JOBS="${jobs[*]}" "$HERE/run-bench.sh" "$CORPUS" "${linkers[@]}"
echo
echo "ldpy's wall time relative to each peer (median of hyperfine runs, same run):"
python3 "$HERE/ratios.py" "$RESULTS"
