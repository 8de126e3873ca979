"""Rules of the code's shape that a reviewer would otherwise have to remember."""
import pathlib
import re

SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "ldpy"


def _declared_context_fields():
    text = (SRC / "driver.py").read_text()
    init = text[text.index("    def __init__(self, config):"):text.index("    def common_chunk")]
    return set(re.findall(r"self\.(\w+)\s*=(?!=)", init))


def test_context_declares_every_field_passes_set():
    """driver.Context declares (with a comment) every field any pass assigns:
    no pass attaches state of its own (issue 14, 'declared state')."""
    declared = _declared_context_fields()
    undeclared = {}
    for path in SRC.rglob("*.py"):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            targets = re.match(r"\s*((?:ctx\.\w+\s*,\s*)*ctx\.\w+)\s*=(?!=)", line)
            if targets:
                for name in re.findall(r"ctx\.(\w+)", targets.group(1)):
                    if name not in declared:
                        undeclared.setdefault(name, f"{path.relative_to(SRC)}:{lineno}")
    assert not undeclared, f"Context fields set by passes but not declared in Context.__init__: {undeclared}"


def test_no_getattr_probing_of_the_context():
    """Passes read declared fields directly, never getattr(ctx, NAME, default)."""
    hits = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1)
            if re.search(r"\b(getattr|hasattr)\(ctx, \"", line)]
    assert not hits, hits


def test_no_target_specific_relocation_decoding_outside_arch_and_elf():
    """Generic passes decode r_info through elf.format and never name an x86-64
    relocation or machine (targets as data, issue 14)."""
    hits = []
    for p in SRC.rglob("*.py"):
        rel = p.relative_to(SRC).as_posix()
        if rel.startswith(("arch/", "elf/")):
            continue
        for i, line in enumerate(p.read_text().splitlines(), 1):
            # (a `>> 32` of other data, such as CTF's 64-bit sizes, is not r_info decoding)
            if re.search(r"R_X86_64|EM_X86_64", line) or (">> 32" in line and "info" in line):
                hits.append(f"{rel}:{i}")
    assert not hits, hits


def test_no_private_helper_imported_from_another_module():
    """One owner per helper: what another module needs is public (issue 14 item 4), so
    no `from ldpy.X import _name` and no `module._name(` call of another module's private."""
    hits = []
    for p in SRC.rglob("*.py"):
        text = p.read_text()
        for m in re.finditer(r"from ldpy[\w.]* import ([^\n]+)", text):
            for name in re.split(r"[,\s()]+", m.group(1)):
                if name.startswith("_") and not name.startswith("__"):
                    hits.append(f"{p.relative_to(SRC)}: {name}")
    assert not hits, hits
    # the DWARF line reader is one of the formats elf/ owns
    assert (SRC / "elf" / "dwarf_line.py").exists() and not (SRC / "dwarf_line.py").exists()


def test_linker_made_sections_are_their_own_type():
    """Input sections and linker-made chunks are told apart by type (`is_input`), never
    by probing for a `file` attribute (issue 14 item 3)."""
    from ldpy.input.object import InputSection
    from ldpy.sections import MergedSection
    from ldpy.synthetic import Synthetic
    assert InputSection.is_input and not Synthetic.is_input and not MergedSection.is_input
    assert Synthetic(".x").file is None and MergedSection(".y", 0, 1).file is None
    hits = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1)
            if re.search(r"(getattr|hasattr)\(\w+(\.\w+)*, \"file\"", line)]
    assert not hits, hits


def test_target_module_tables_match_the_targets():
    """arch/base.py finds a target's module by e_machine or emulation name without
    importing the others: its tables must name every target and emulation."""
    from ldpy.arch import base
    targets = base.all_targets()
    assert {t.MACHINE: t.__module__.rsplit(".", 1)[1] for t in targets} == base.TARGET_MODULES
    assert {e: t.__module__.rsplit(".", 1)[1] for t in targets for e in t.EMULATIONS} == \
        base.EMULATION_MODULES


def test_a_link_imports_only_its_own_target(tmp_path):
    import subprocess
    import sys
    (tmp_path / "a.s").write_text(".globl _start\n_start: ret\n")
    subprocess.run(["gcc", "-c", "a.s", "-o", "a.o"], cwd=tmp_path, check=True)
    code = ("import sys; sys.argv = ['ldpy', '-m', 'elf_x86_64', 'a.o', '-o', 'a']\n"
            "from ldpy.main import main\n"
            "assert main() == 0\n"
            "print(sorted(m for m in sys.modules if m.startswith('ldpy.arch.')))")
    env = dict(__import__("os").environ, PYTHONPATH=str(SRC.parent))
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert r.stdout.strip().splitlines()[-1] == "['ldpy.arch.base', 'ldpy.arch.x86_64']", r.stdout + r.stderr
