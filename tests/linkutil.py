"""Helpers for the dynamic-linking tests: compile with the system gcc, link
with ldpy (through gcc -B shim) and with ld.bfd, run, compare."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def shim_dir():
    out = subprocess.run([sys.executable, "-m", "ldpy", "--print-shim-dir"], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def run(cmd, cwd=None, env=None, check=True, timeout=120):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"command failed ({r.returncode}): {' '.join(map(str, cmd))}\n"
                             f"stdout: {r.stdout}\nstderr: {r.stderr}")
    return r


def gcc_link(tmp, out, args, linker="ldpy", compiler="gcc"):
    """Link (and compile, if sources are given) with gcc driving ldpy or ld.bfd."""
    sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
    path = os.path.join(str(tmp), out)
    r = run([compiler, *args, "-o", path, *sel], cwd=str(tmp))
    assert "Traceback" not in r.stderr, r.stderr
    return path


def readelf(*args):
    return run(["readelf", "-W", *args]).stdout


def comment_says_ldpy(path):
    return "ldpy" in readelf("-p", ".comment", path)


def dyn_tags(path):
    """{tag name: [values]} from readelf -d."""
    tags = {}
    for line in readelf("-d", path).splitlines():
        line = line.strip()
        if line.startswith("0x"):
            parts = line.split(None, 2)
            tags.setdefault(parts[1].strip("()"), []).append(parts[2] if len(parts) > 2 else "")
    return tags


def needed(path):
    return [v.split("[")[1].rstrip("]") for v in dyn_tags(path).get("NEEDED", [])]


def dynsyms(path):
    """Set of (name@version, binding, defined?) from readelf --dyn-syms."""
    out = set()
    for line in readelf("--dyn-syms", path).splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0].rstrip(":").isdigit() and parts[0] != "0:":
            name = parts[7]
            out.add((name.split(" (")[0], parts[4], parts[6] != "UND"))
    return out


def version_needs(path):
    """Set of (file, version name) from readelf -V."""
    res, cur = set(), None
    for line in readelf("-V", path).splitlines():
        line = line.strip()
        if "File:" in line:
            cur = line.split("File:")[1].split()[0]
        elif line.startswith("0x") and "Name:" in line and cur:
            res.add((cur, line.split("Name:")[1].split()[0]))
    return res
