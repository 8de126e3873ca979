"""Start-up cost of a link in a fresh process (issue 15): what a usual link imports.

numpy's optional packages are not free: `numpy.ma` alone costs 10-15 ms, more than a
small link's own work, and plain `np.unique` imports it (numpy 2 asks
`np.ma.is_masked`).  A usual gcc link through the shim must import none of them;
the shim's interpreter runs with -I (it reads no PYTHON* variable), so the test puts
an `ld` of its own before gcc: the shim's command with `-X importtime`, which makes
the linker's Python print what it imported."""
import os
import shutil
import subprocess
import sys

import pytest

from e2e_util import shim_dir

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

# modules a link never needs, each several milliseconds to import (numpy's
# docstrings, numpy.linalg and inspect too: main.import_numpy stands in for them)
HEAVY = ("numpy.ma", "numpy.polynomial", "numpy.random", "numpy.fft", "numpy.linalg.lapack_lite",
         "numpy._core._add_newdocs", "numpy._core._add_newdocs_scalars",
         "numpy.linalg", "numpy._typing", "inspect", "dis", "tokenize")

CXX = r"""
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>
thread_local int counter = 3;
static int f(int x) { if (x > 2) throw std::runtime_error("big " + std::to_string(x)); return x; }
int main() {
    std::vector<int> v{1, 2, 3};
    try { for (int x : v) counter += f(x); } catch (const std::exception &e) { std::printf("%s %d\n", e.what(), counter); }
    return 0;
}
"""


def _importtime_shim(tmp_path):
    """A directory whose `ld` runs the gcc shim's interpreter command with -X importtime."""
    import shlex
    from ldpy import main
    d = shim_dir()
    command = main.shim_command("import sys; sys.path[:0] = " + repr(_shim_paths()) +
                                "; from ldpy.main import entry; entry(" + repr(d) + ")")
    command[1:1] = ["-X", "importtime"]
    wrapper = tmp_path / "importtime-shim"
    wrapper.mkdir()
    (wrapper / "ld").write_text("#!/bin/sh\nexec " + " ".join(map(shlex.quote, command)) + ' "$@"\n')
    (wrapper / "ld").chmod(0o755)
    return str(wrapper)


def _shim_paths():
    import numpy
    from ldpy import main
    return list(dict.fromkeys([os.path.dirname(os.path.dirname(os.path.abspath(main.__file__))),
                               os.path.dirname(os.path.dirname(os.path.abspath(numpy.__file__)))]))


@pytest.mark.parametrize("kind", ["c-dynamic", "c-static", "cxx-pie"])
def test_usual_link_imports_nothing_heavy(tmp_path, kind):
    if kind == "cxx-pie":
        src, compiler, flags, want = tmp_path / "m.cc", "g++", ["-pie"], "big 3 6\n"
        src.write_text(CXX)
    else:
        src, compiler, want = tmp_path / "m.c", "gcc", "hi 42\n"
        flags = ["-static"] if kind == "c-static" else []
        src.write_text('#include <stdio.h>\n#include <stdlib.h>\n'
                       'int main(void){char *p = malloc(8); printf("hi %d\\n", 42); free(p); return 0;}\n')
    if shutil.which(compiler) is None:
        pytest.skip(f"needs {compiler}")
    env = dict(os.environ)
    env.pop("LDPY_SERVER", None)
    out = tmp_path / "prog"
    r = subprocess.run([compiler, "-B", _importtime_shim(tmp_path), *flags, str(src), "-o", str(out)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines()
                if line.startswith("import time:")}
    assert "ldpy.driver" in imported                 # (the report is there at all)
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
    assert subprocess.run([str(out)], capture_output=True, text=True, timeout=60).stdout == want


STAND_IN = r"""
import sys
sys.path.insert(0, {src!r})
from ldpy.main import import_numpy, NUMPY_DOC_MODULES
import_numpy()
import numpy as np
stand_ins = [type(sys.modules[n]).__name__ for n in NUMPY_DOC_MODULES]
assert np.add(np.arange(3), 1).tolist() == [1, 2, 3]
# a name asked of a stand-in imports the real module, which then replaces it
real = sys.modules[NUMPY_DOC_MODULES[0]].add_newdoc
print(stand_ins, type(sys.modules[NUMPY_DOC_MODULES[0]]).__name__, callable(real))
"""


def _fresh_python(snippet):
    """What a new interpreter prints running `snippet` (its {src}: ldpy's source tree)."""
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    r = subprocess.run([sys.executable, "-c", snippet.format(src=src)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_numpy_docstring_modules_load_only_when_asked():
    assert _fresh_python(STAND_IN) == "['DocModule', 'DocModule'] module True"


LINALG_LATER = r"""
import sys
sys.path.insert(0, {src!r})
from ldpy.main import import_numpy
import_numpy()
import numpy as np
before = "numpy.linalg" in sys.modules
# numpy.matrix's power calls numpy.linalg.matrix_power: the forwarder imports it
cube = (np.matrix([[1, 1], [0, 1]]) ** 3).tolist()
after = type(sys.modules["numpy.linalg"]).__name__
print(before, cube, after, np.linalg.norm([3.0, 4.0]), issubclass(np.linalg.LinAlgError, Exception))
"""


def test_numpy_linalg_loads_only_when_called():
    assert _fresh_python(LINALG_LATER) == "False [[1, 3], [0, 1]] module 5.0 True"


SIGNATURES = r"""
import json, sys
sys.path.insert(0, {src!r})
if sys.argv[-1] == "stand-in":
    from ldpy.main import import_numpy
    import_numpy()
import numpy as np
before = [type(sys.modules["inspect"]).__name__, "dis" in sys.modules]
import inspect
for name in ("numpy._core._add_newdocs", "numpy._core._add_newdocs_scalars"):
    getattr(sys.modules[name], "__file__")        # (the docs stood in for: loaded now)

def sig(f):
    try:
        return str(inspect.signature(f))
    except ValueError:          # (C functions numpy gives no signature)
        return "-"
print(json.dumps([before, {{f"{{f.__module__}}.{{f.__qualname__}}": [f.__doc__, sig(f)]
                           for f in np._core.overrides.ARRAY_FUNCTIONS}}]))
"""


def test_inspect_stand_in_gives_numpy_the_real_signatures_and_docs():
    """numpy's import asks `inspect` for its C functions' cleaned docs and their
    dispatchers' signatures; with the stand-in, `inspect` is imported only when
    asked for, and then every signature and doc is what a plain import gives
    (numpy.linalg's functions only exist in the plain one: stood in for too)."""
    import json
    plain_before, plain = json.loads(_fresh_python(SIGNATURES))
    stood_in_before, stood_in = json.loads(_fresh_python(SIGNATURES.replace('sys.argv[-1] == "stand-in"', "True")))
    assert plain_before == ["module", True] and stood_in_before == ["InspectLater", False]
    assert stood_in["numpy.where"][1] == "(condition, x=None, y=None, /)"
    assert stood_in["numpy.concatenate"][1].startswith("(arrays, /, axis=0")
    assert len(stood_in) > 200 and stood_in.keys() <= plain.keys()
    assert stood_in == {name: plain[name] for name in stood_in}
