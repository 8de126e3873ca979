"""Input sections -> output sections under a SECTIONS command.

Each output section statement is a list of input section descriptions
(`KEEP(*crt?.o(.init .init.*))`); an input section goes to the first
description, in script order, whose file and section patterns match it.
Sections nothing matches are orphans, placed the way GNU ld places them: into
an output section of the same name if the script has one, else into a new
output section after the last one with similar flags.

ScriptOutputMap offers the interface of assign.OutputMap (place, output_for,
get, by_name, sorted), so assign.py and the synthetic-section code work the
same with and without a script.
"""
import fnmatch
import re
from functools import lru_cache

from ldpy.diag import LinkError
from ldpy.elf.format import (SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_TLS, SHT_NOBITS, SHT_NOTE, SHT_PROGBITS,
                             SHT_RELA)
from ldpy.script import ast
from ldpy.sections import OutputSection, init_priority, kept_text_prefix, KEPT_TEXT

DISCARD = "/DISCARD/"
_SHORT = 8                    # (`.text._Z`: the stem of most C++ function sections fits)
_OUT_FLAGS = SHF_WRITE | SHF_EXECINSTR | SHF_ALLOC | SHF_TLS   # what input sections give their output
ORPHAN_POS = 1 << 30          # orphans go after everything the statement lists
# Sections the linker itself always puts last; scripts cannot place them.
TABLES = (".symtab", ".strtab", ".shstrtab")

_FLAG_BITS = {"SHF_WRITE": SHF_WRITE, "SHF_ALLOC": SHF_ALLOC, "SHF_EXECINSTR": SHF_EXECINSTR,
              "SHF_MERGE": 0x10, "SHF_STRINGS": 0x20, "SHF_INFO_LINK": 0x40,
              "SHF_LINK_ORDER": 0x80, "SHF_OS_NONCONFORMING": 0x100, "SHF_GROUP": 0x200,
              "SHF_TLS": SHF_TLS, "SHF_GNU_RETAIN": 0x200000}


class Statement:
    """One output section statement of the script (or an orphan we add), in
    layout order.  `out` is its OutputSection once something lands in it."""

    def __init__(self, node, name, overlay=None):
        self.node = node              # ast.OutputSection / ast.OverlaySection, None for orphans
        self.name = name
        self.overlay = overlay        # the ast.Overlay it belongs to
        self.out = None
        self.dropped = False          # ONLY_IF_RO/RW not met
        self.after = None             # orphans: the statement GNU ld anchored them to
        self.phantom_align = None     # GNU ld's own empty input sections land here (see place_phantoms)
        self.phantom_flags = 0

    @property
    def commands(self):
        return self.node.commands if self.node is not None else []


class ScriptOutput(OutputSection):
    """An output section made from a script statement: it also has a load
    address, a fill pattern and the statement it came from."""

    def __init__(self, name, type_, flags, order, stmt):
        super().__init__(name, type_, flags, order)
        self.stmt = stmt
        self.lma = 0
        self.fill = None              # bytes pattern for gaps, from =fill / FILL()
        self.region = None
        self.noload = False
        self.phdr_names = []
        self.desc_chunks = {}         # command position in the statement -> chunks
        self.next_pos = ORPHAN_POS    # where chunks added without a position go

    def add(self, chunk, desc_pos=None):
        # (OutputSection.add inlined: once per input section)
        self.chunks.append(chunk)
        chunk.output = self
        if chunk.align > self.align:
            self.align = chunk.align
        if chunk.type != SHT_NOBITS and self.type == SHT_NOBITS:
            self.type = SHT_PROGBITS
        self.flags |= chunk.flags & _OUT_FLAGS
        run = self.desc_chunks.get(self.next_pos if desc_pos is None else desc_pos)
        if run is None:
            run = self.desc_chunks[self.next_pos if desc_pos is None else desc_pos] = []
        run.append(chunk)

    def add_sorted(self, items):
        """add() of every chunk of assign_sections' sorted (sort key, seq, chunk,
        section) items, in order: the same effects with one pass per attribute."""
        chunks = [item[2] for item in items]
        self.chunks.extend(chunks)
        align, flags, progbits = self.align, 0, False
        for c in chunks:
            c.output = self
            if c.align > align:
                align = c.align
            flags |= c.flags
            if c.type != SHT_NOBITS:
                progbits = True
        self.align = align
        self.flags |= flags & _OUT_FLAGS
        if progbits and self.type == SHT_NOBITS:
            self.type = SHT_PROGBITS
        runs, prev, run = self.desc_chunks, None, None
        for item in items:
            pos = item[0][0]
            if pos is None:
                pos = self.next_pos
            if pos != prev:
                run = runs.get(pos)
                if run is None:
                    run = runs[pos] = []
                prev = pos
            run.append(item[2])


# The pattern compilers below are cached by pattern text: the link server compiles
# the default scripts' patterns once (warm_patterns), and its children start with them.

@lru_cache(maxsize=4096)
def _glob(pattern):
    """fnmatch without the case folding, compiled once."""
    return re.compile(fnmatch.translate(pattern), re.S).match


def _is_literal(pattern):
    return not any(c in pattern for c in "*?[")


@lru_cache(maxsize=4096)
def _prefix_of(pattern):
    """(literal, is_prefix) for a pattern that is a literal name or `literal*`, else None."""
    if _is_literal(pattern):
        return pattern, False
    if pattern.endswith("*") and _is_literal(pattern[:-1]):
        return pattern[:-1], True
    return None


@lru_cache(maxsize=4096)
def _name_test(pattern):
    """A section name pattern as a test returning a truth value: `==` for a literal,
    `startswith` for `prefix*` (the patterns of every usual script), else the glob."""
    lit = _prefix_of(pattern)
    if lit is None:
        match = _glob(pattern)
        return lambda name: match(name) is not None
    if lit[1]:
        return lambda name, prefix=lit[0]: name.startswith(prefix)
    return lit[0].__eq__


def warm_patterns(tree):
    """Compile the patterns of every input section description in a script's tree
    into the caches above (the link server, for the default scripts)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, ast.InputSectionDesc):
            try:
                InputDescription(None, 0, node)
            except LinkError:
                pass                    # (the link reports it)
        elif type(node).__module__ == ast.__name__:        # (any other node of the tree)
            stack.extend(vars(node).values())


class InputDescription:
    """A compiled input section description."""

    def __init__(self, stmt, pos, desc):
        self.stmt, self.pos, self.desc = stmt, pos, desc
        f = desc.file
        self.archive = None
        if ":" in f and not f.startswith("/"):
            self.archive, _, f = f.partition(":")
            self.archive_match = _glob(self.archive or "*")
        self.any_file = f in ("*", "") and self.archive is None and not desc.exclude_files
        self.file_match = _glob(f or "*")
        self.exclude = [_glob(p) for p in desc.exclude_files]
        self.patterns = [(p, _name_test(p.pattern), [_glob(x) for x in p.exclude_files])
                         for p in desc.patterns]
        self.flags_need, self.flags_refuse = 0, 0
        for word in desc.flags:
            neg = word.startswith("!")
            bit = _FLAG_BITS.get(word.lstrip("!"))
            if bit is None:
                raise LinkError(f"{desc.where}: unknown section flag '{word}' in INPUT_SECTION_FLAGS")
            if neg:
                self.flags_refuse |= bit
            else:
                self.flags_need |= bit
        # whether the section name alone decides if this description takes a section
        # (any file, no flags, every pattern a literal or a `prefix*`, no EXCLUDE_FILE)
        self.by_name_only = self.any_file and not desc.flags and \
            all(_prefix_of(p.pattern) is not None and not p.exclude_files for p in desc.patterns)

    def file_ok(self, f):
        if self.any_file:
            return True
        if f is None:                         # linker-made sections live in no file
            return self.file_match("") is not None or self.desc.file == "*"
        path = f.archive.path if f.archive is not None else f.name
        if self.archive is not None:
            if f.archive is None:
                return self.archive == "" and self.file_match(f.name) is not None
            if not (self.archive_match(f.archive.path) or
                    self.archive_match(f.archive.path.rsplit("/", 1)[-1])):
                return False
            return self.file_match(f.member.name) is not None
        name = f.member.name if f.archive is not None else f.name
        if not (self.file_match(name) or (f.archive is None and self.file_match(path))):
            return False
        return not any(x(name) for x in self.exclude)

    def matching_pattern(self, sec, f):
        """The section pattern that takes `sec`, or None."""
        flags = sec.flags
        if self.flags_need & ~flags or self.flags_refuse & flags:
            return None
        name = sec.name
        for p, match, excl in self.patterns:
            if not match(name):
                continue
            if excl and f is not None and any(x(f.name) or (f.member is not None and x(f.member.name))
                                             for x in excl):
                continue
            return p
        return None


def _sort_key(pattern, sec, f):
    key = []
    for s in pattern.sort:
        if s == "name":
            key.append((0, sec.name))
        elif s == "alignment":
            key.append((1, -sec.align))
        elif s == "init_priority":
            key.append((2, init_priority(sec.name)))
        elif s == "reverse":
            key.append((3, ""))
    return tuple(key)


# SORT orders that read a section's name or alignment
_NAMED_SORTS = frozenset(("name", "alignment", "init_priority"))
_DISCARDED = ("/DISCARD/",)       # place()'s cached answer for a discarded head
_ORPHANED = ("orphan",)           # ... and for a head no description takes


class ScriptOutputMap:
    """Output sections of a scripted link, in statement order."""

    def __init__(self, script, orphan_handling="place", relocatable=False):
        self.script = script
        # -r: GNU ld's rules for relocatable output: orphans follow ldelf_place_orphan's
        # classes (below), same-named orphans combine only with the same type, and the
        # members of the COMDAT groups kept as groups are orphans of their own that only
        # /DISCARD/ may take (ld's unique_section_p while groups are not resolved)
        self.relocatable = relocatable
        self.group_members = frozenset()      # -r: (file id, section index) of those members
        self.output_class = ScriptOutput      # (-r makes its own kind of output section)
        self._orphan_of = {}                  # -r: (name, type, allocated) -> orphan statement
        self._script_by_name = None           # -r: name -> the first script statement of that name
        self._r_chain = {}                    # -r: orphan class -> [statement it follows, its last orphan]
        self._r_follow = {}                   # -r: id(statement) -> orphans made to follow it
        self._r_tail = []                     # -r: orphans that go last
        self._r_pending = False
        self._orphan_placed = {}              # -r: the same -> place()'s answer for it
        self.orphan_handling = orphan_handling   # --orphan-handling: place, warn, error, discard
        self.by_name = {}
        self.merged = {}
        self.statements = []
        self.discard = []                     # compiled /DISCARD/ descriptions
        for node in script.section_statements():
            if isinstance(node, ast.OutputSection):
                self.statements.append(Statement(node, node.name))
            elif isinstance(node, ast.Overlay):
                for osec in node.sections:
                    self.statements.append(Statement(osec, osec.name, node))
        self._orphans_after = {}
        self._orphan_at = {}                  # id() of an orphan statement -> where it was inserted
        self._named = None                    # name -> the first live statement of that name
        self._anchors = {}                    # name -> the last script statement of that name
        self._pending_anchor = None
        self._future = None
        self.discarded_ids = set()            # id() of input sections /DISCARD/ took
        self.unique = None                    # --unique: (patterns, every orphan too), set by assign
        self.keep_text_prefix = False         # -z keep-text-section-prefix
        self._compile()
        self._cache = {}

    def _compile(self):
        """Index the descriptions by their section name patterns.  Literal names and
        `prefix*` patterns read at most the first `head` characters of a name, so
        names that agree on those share one candidate list (with -ffunction-sections
        100k names share a few dozen heads); other globs are tried per name."""
        self.descs = []
        self.by_literal = {}
        self.by_prefix = []           # (prefix, description order)
        self.wild = []                # (description order, glob) for the other patterns
        head = 1
        for st in self.statements:
            if st.dropped:
                continue
            for pos, cmd in enumerate(st.commands):
                if isinstance(cmd, ast.InputSectionDesc):
                    d = InputDescription(st, pos, cmd)
                    order = len(self.descs)
                    self.descs.append(d)
                    for p in cmd.patterns:
                        lit = _prefix_of(p.pattern)
                        if lit is None:
                            self.wild.append((order, _glob(p.pattern)))
                            continue
                        if lit[1]:
                            self.by_prefix.append((lit[0], order))
                        else:
                            self.by_literal.setdefault(lit[0], []).append(order)
                        head = max(head, len(lit[0]) + 1)
        self.head = head
        self.has_discard = any(d.stmt.name == DISCARD for d in self.descs)
        # prefixes by length: a name's matching prefixes are a few dict probes
        by_len = {}
        for prefix, order in self.by_prefix:
            by_len.setdefault(len(prefix), {}).setdefault(prefix, []).append(order)
        self.prefix_tables = sorted(by_len.items())
        # every start of a literal or prefix: a name's shortest start that is none of
        # these (its stem) decides what matches it (`.text._ZN4llvm...` -> `.text._`)
        self._starts = {lit[:i] for lit in list(self.by_literal) + [p for p, _ in self.by_prefix]
                        for i in range(1, len(lit) + 1)}
        self._cache = {}              # name -> candidates (with other globs)
        self._stem_cache = {}         # stem -> candidates from literals and prefixes
        self._placed = {}             # name head, or stem -> place()'s answer when it decides
        self._placed_short = {}       # first _SHORT characters -> the same, for short stems
        self._orphan_placed = {}

    def _stem(self, name):
        starts = self._starts
        for n in range(1, len(name) + 1):
            if name[:n] not in starts:
                return name[:n]
        return name                   # (a literal, or the start of a pattern)

    def _remember(self, name, placed):
        """place()'s answer for every name with this name's stem: under the stem, the
        name's head and, when the stem is that short, its first _SHORT characters."""
        stem = self._stem(name)
        self._placed[name[:self.head]] = self._placed[stem] = placed
        if len(stem) <= _SHORT:
            self._placed_short[name[:_SHORT]] = placed

    def _head_candidates(self, name):
        stem = self._stem(name)
        c = self._stem_cache.get(stem)
        if c is None:
            c = set(self.by_literal.get(stem, ()))
            n = len(stem)
            for length, table in self.prefix_tables:
                if length > n:
                    break
                hit = table.get(stem[:length])
                if hit is not None:
                    c.update(hit)
            c = self._stem_cache[stem] = sorted(c)
        return c

    def _statements_changed(self):
        """Forget the lookups over self.statements (orphans inserted by
        orphan_statement keep them up to date themselves)."""
        self._named = None
        self._anchors = {}

    def _first_named(self, name):
        """The first statement called `name` that is neither dropped nor /DISCARD/
        (a dict: thousands of orphans each looked up their name in a list)."""
        named = self._named
        if named is None:
            named = self._named = {}
            for st in self.statements:
                if not st.dropped and st.name != DISCARD:
                    named.setdefault(st.name, st)
        return named.get(name)

    def drop_statement(self, st):
        self._statements_changed()
        st.dropped = True
        if st.node is not None:
            st.node.dropped = True      # (its symbol assignments are gone too)
        self._compile()

    def _candidates(self, name):
        """The orders of the descriptions with a pattern that matches `name`, ascending."""
        if not self.wild:
            return self._head_candidates(name)
        c = self._cache.get(name)
        if c is None:
            c = set(self._head_candidates(name))
            c.update(order for order, match in self.wild if match(name) is not None)
            c = self._cache[name] = sorted(c)
        return c

    # -- placement (assign_sections, synthetic sections, plugins) ------------
    def place(self, sec, f):
        """(statement, sort key, description) for an input section; None to discard it."""
        name = sec.name
        if self.group_members and f is not None and (f.file_id, sec.index) in self.group_members:
            return self._group_member(sec, f)
        if self.unique is not None and f is not None and self._unique_input(sec):
            return self._orphan(sec, f, True)
        if self.keep_text_prefix and f is not None and name.startswith(KEPT_TEXT):
            kept = self._kept_text(sec, f)
            if kept is not None:
                return kept
        if not self.wild:
            if self.relocatable:
                # (-r: an orphan's answer, by name, type and SHF_ALLOC)
                hit = self._orphan_placed.get((name, sec.type, sec.flags & SHF_ALLOC))
                if hit is not None:
                    return hit
            # the answer of an earlier section whose name has the same head (or stem),
            # when only that decided it: one dict probe for most input sections
            hit = self._placed_short.get(name[:_SHORT])
            if hit is None:
                head = name[:self.head]
                hit = self._placed.get(head)
                if hit is None:
                    hit = self._placed.get(self._stem(name))
                    if hit is not None:
                        self._placed[head] = hit
            if hit is not None:
                if hit is _DISCARDED:
                    if f is not None:
                        self.discarded_ids.add(id(sec))
                    return None
                if hit is _ORPHANED:
                    return self._orphan_r(sec, f) if self.relocatable else self._orphan(sec, f, False)
                return hit
        head_decides = not self.wild
        for order in self._candidates(name):
            d = self.descs[order]
            head_decides = head_decides and d.by_name_only
            if not d.file_ok(f):
                continue
            p = d.matching_pattern(sec, f)
            if p is None:
                continue
            if d.stmt.name == DISCARD:
                if head_decides:
                    self._remember(name, _DISCARDED)
                if f is not None:
                    self.discarded_ids.add(id(sec))
                return None
            key = (d.pos, _sort_key(p, sec, f))
            if d.desc.file_sort:
                key = (d.pos, ((0, f.name if f is not None else ""),) + key[1])
            placed = d.stmt, key, d.desc
            if head_decides and not d.desc.file_sort and not _NAMED_SORTS.intersection(p.sort):
                self._remember(name, placed)
            return placed
        if head_decides:
            self._remember(name, _ORPHANED)     # (no description takes a name of this stem)
        if self.relocatable:
            return self._orphan_r(sec, f)
        return self._orphan(sec, f, False)

    def _orphan_r(self, sec, f):
        """-r: _orphan, its answer remembered by name, type and SHF_ALLOC."""
        placed = self._orphan(sec, f, False)
        if placed is not None and self.orphan_handling == "place" and self.unique is None:
            self._orphan_placed[(sec.name, sec.type, sec.flags & SHF_ALLOC)] = placed
        return placed

    def _group_member(self, sec, f):
        """-r: a member of a group kept as a group is an output section of its own,
        unless a /DISCARD/ description takes it."""
        if self.has_discard:
            for order in self._candidates(sec.name):
                d = self.descs[order]
                if d.stmt.name == DISCARD and d.file_ok(f) and d.matching_pattern(sec, f) is not None:
                    self.discarded_ids.add(id(sec))
                    return None
        return self._orphan(sec, f, True)

    def _kept_text(self, sec, f):
        """-z keep-text-section-prefix (lld, gold): a .text.hot (.unlikely, ...) input the
        `.text` statement would take goes to an output section named by its prefix,
        placed after .text like an orphan, in the order such sections first appear."""
        prefix = kept_text_prefix(sec.name)
        if prefix == ".text":
            return None
        st = self.rule_taking(sec, f)
        if st is None or st.name != ".text":
            return None
        return self.orphan_statement(_Synth(prefix, sec.type, sec.flags)), (ORPHAN_POS, ()), None

    def _unique_input(self, sec):
        """--unique=PATTERN: the section is an orphan whatever the script says (GNU ld's
        unique_section_p)."""
        return any(fnmatch.fnmatchcase(sec.name, p) for p in self.unique[0])

    def _orphan(self, sec, f, unique):
        """GNU ld's ldlang_place_orphan: --orphan-handling, then a statement of the
        same name or a new one (always a new one for --unique)."""
        handling = self.orphan_handling
        if handling != "place" and f is not None:
            if handling == "discard":
                self.discarded_ids.add(id(sec))
                return None
            if handling == "error":
                from ldpy.diag import diag
                diag.error(f"unplaced orphan section `{sec.name}' from `{f.name}'")
        if not unique and self.unique is not None and self.unique[1] and f is not None:
            # bare --unique: every orphan input section (ldpy's default script leaves
            # out the debug sections and notes GNU ld's lists: they stay orphans of one name)
            unique = self.relocatable or not _named_by_gnu_script(sec.name)
        st = self.orphan_statement(sec, unique)
        if handling == "warn" and f is not None:
            from ldpy.diag import diag
            diag.warn(f"orphan section `{sec.name}' from `{f.name}' being placed in section `{st.name}'")
        return st, (ORPHAN_POS, ()), None

    def keep_prefixes(self):
        """Name prefixes that every section a KEEP description may take starts with
        (the literal part of each pattern): a quick filter before keeps()."""
        out = set()
        for d in self.descs:
            if d.desc.keep and d.stmt.name != DISCARD:
                for p in d.desc.patterns:
                    cut = min((p.pattern.find(c) for c in "*?[" if c in p.pattern), default=len(p.pattern))
                    out.add(p.pattern[:cut])
        return tuple(sorted(out))

    def keeps(self, sec, f):
        """Whether the description that takes `sec` says KEEP (a --gc-sections root).
        Unlike place(), this makes no orphan statements."""
        for order in self._candidates(sec.name):
            d = self.descs[order]
            if d.file_ok(f) and d.matching_pattern(sec, f) is not None:
                return d.desc.keep and d.stmt.name != DISCARD
        return False

    def output_for(self, st, type_, flags):
        if st.out is None:
            st.out = self.output_class(st.name, type_, flags & (SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR | SHF_TLS),
                                       0, st)
            self.by_name.setdefault(st.name, st.out)
        return st.out

    def get(self, name, type_, flags, discardable=False, align=1):
        """The output section for a linker-made section of this name; None when
        the script discards it and it may be left out (notes, .comment)."""
        if name in TABLES:
            out = self.by_name.get(name)
            if out is None:
                st = Statement(None, name)
                self.statements.append(st)
                self._statements_changed()
                out = self.output_for(st, type_, flags)
            return out
        fake = _Synth(name, type_, flags)
        fake.align = align
        placed = self.place(fake, None)
        if placed is None:
            if discardable:
                return None
            placed = (self.orphan_statement(fake), (ORPHAN_POS, ()))
        out = self.output_for(placed[0], type_, flags)
        out.next_pos = placed[1][0]
        return out

    def sorted(self):
        outs = [st.out for st in self.statements if st.out is not None and not st.dropped]
        for i, o in enumerate(outs):
            o.order = i
        return outs

    # -- orphans ------------------------------------------------------------
    def orphan_statement(self, sec, unique=False):
        """GNU ld's rule: an output section of the same name, else a new one
        after the last output section with similar flags (always a new one when
        `unique`).  Allocated relocation sections are all called .rela.dyn (GNU
        ld's -z combreloc default)."""
        name = ".bss" if sec.name == "COMMON" else sec.name
        if self.relocatable:
            return self._orphan_statement_r(sec, name, unique)
        if sec.type == SHT_RELA and sec.flags & SHF_ALLOC:
            name = ".rela.dyn"
        if not unique:
            st = self._first_named(name)
            if st is not None:
                return st
        st = Statement(None, name)
        st.orphan_kind = (sec.flags, sec.type)   # what it is before its output exists
        self._pending_anchor = self._pending_key = None
        at = self._orphan_position(sec)
        self.statements.insert(at, st)
        self._orphan_at[id(st)] = at
        if self._named is not None:
            if name in self._named:
                self._named = None            # (a --unique orphan may now come first)
            else:
                self._named[name] = st
        if self._pending_key is not None:
            self._orphans_after[self._pending_key] = st
            st.after = self._pending_anchor
        return st

    # -- ONLY_IF_RO / ONLY_IF_RW -----------------------------------------------
    def apply_constraints(self, files):
        """An output section description with ONLY_IF_RO (ONLY_IF_RW) is dropped
        when one of the input sections it would get is writable (read-only); its
        sections then go to the descriptions after it.  Decided in script order,
        counting only sections no earlier description took, as GNU ld does."""
        self._files = files
        if not any(st.node is not None and getattr(st.node, "constraint", None) in
                   ("ONLY_IF_RO", "ONLY_IF_RW") for st in self.statements):
            return
        groups = self.group_members
        # only writable inputs can drop an ONLY_IF_RO statement or keep an ONLY_IF_RW
        # one; they are judged per name first (candidates), then per section
        writable = {}
        for f in files:
            for sec in f.sections:
                if sec is not None and sec.live and sec.flags & SHF_WRITE and sec.file is f and \
                        not (groups and (f.file_id, sec.index) in groups):
                    writable.setdefault(sec.name, []).append((sec, f))
        cands = {}
        for st in list(self.statements):
            want = getattr(st.node, "constraint", None) if st.node is not None else None
            if want not in ("ONLY_IF_RO", "ONLY_IF_RW"):
                continue
            mine = {k for k, d in enumerate(self.descs) if d.stmt is st}
            readonly = True
            for name, secs in writable.items():
                c = cands.get(name)
                if c is None:
                    c = cands[name] = self._candidates(name)
                if mine.isdisjoint(c):
                    continue
                if any(self.rule_taking(sec, f) is st for sec, f in secs):
                    readonly = False
                    break
            if readonly != (want == "ONLY_IF_RO"):
                self.drop_statement(st)
                cands = {}                      # (the descriptions are numbered anew)

    def _future_flags(self):
        """(flags, type) of what each statement takes, from every input section
        (computed once, when an orphan first needs it)."""
        if self._future is None:
            self._future = {}
            for f in getattr(self, "_files", ()):
                for sec in f.sections:
                    if sec is None or not sec.live or sec.file is not f or \
                            not sec.flags & SHF_ALLOC:
                        continue
                    st = self.rule_taking(sec, f)
                    if st is not None and st.name != DISCARD:
                        fl, ty = self._future.get(id(st), (0, SHT_NOBITS))
                        self._future[id(st)] = (fl | sec.flags, ty if sec.type == SHT_NOBITS else sec.type)
        return self._future

    def rule_taking(self, sec, f):
        """The statement whose description takes `sec` (no orphans made)."""
        for order in self._candidates(sec.name):
            d = self.descs[order]
            if d.file_ok(f) and d.matching_pattern(sec, f) is not None:
                return d.stmt
        return None

    # -- GNU ld's own input sections ------------------------------------------------
    def place_phantoms(self, phantoms):
        """ld.bfd always creates some input sections of its own (.got, .iplt, ...);
        when empty they are not output, but the output sections they land in take
        part in the load-address bookkeeping (an LMA follows the previous
        section's VMA/LMA relation, aligned).  Note where they would go."""
        for name, type_, flags, align in phantoms:
            fake = _Synth(name, type_, flags)
            placed = self.place(fake, None)
            if placed is None:
                continue
            st = placed[0]
            st.phantom_align = max(st.phantom_align or 1, align)
            st.phantom_flags = (getattr(st, "phantom_flags", 0) or 0) | flags

    _ANCHORS = {"text": ".text", "rodata": ".rodata", "tdata": ".tdata", "tbss": ".tbss",
                "data": ".data", "bss": ".bss", "note": ".interp", "rela": ".rela.plt"}

    def _orphan_position(self, sec):
        """After the statement GNU ld would anchor this kind of section to
        (.text, .rodata, .data, .bss, ...), and after orphans placed there before."""
        flags, type_ = sec.flags, sec.type
        if not flags & SHF_ALLOC:
            last = len(self.statements)
            while last and self.statements[last - 1].name in TABLES:
                last -= 1
            return last
        want = _kind(flags, type_)
        if want == "wtext":
            want = "data"       # (ld.bfd's orphan classes: writable before code)
        anchor = None
        if want == "note":
            # GNU ld keeps notes of one alignment together (one PT_NOTE): after the
            # last note section of this alignment, else after .interp
            for st in self.statements:
                if not st.dropped and st.name != DISCARD and _note_align(st) == sec.align:
                    anchor = st
        name = self._ANCHORS.get(want)
        if anchor is None and name is not None:
            anchor = self._script_anchor(name)
        if anchor is None:
            # GNU ld's lang_output_section_find_by_flags: the last statement of the
            # same kind, else the last of a wider set (.data after any loaded
            # section, .bss after any allocated one, .rodata after code, ...)
            fallback = _FALLBACK[want]
            for kinds in fallback:
                for st in self.statements:
                    if st.name != DISCARD and not st.dropped and \
                            self._statement_kind(st, _kind) in kinds:
                        anchor = st
                if anchor is not None:
                    break
        if anchor is None:
            return len([s for s in self.statements if s.name not in TABLES])
        # (GNU ld keeps one insertion point per kind of orphan: .got after .data
        # goes before a .bss orphan that was put after .data earlier)
        key = (id(anchor), want)
        last = self._orphans_after.get(key) or anchor
        self._pending_anchor, self._pending_key = anchor, key
        # (inserts only move a statement later: look from where it was put)
        statements = self.statements
        at = self._orphan_at.get(id(last), 0)
        if at >= len(statements) or statements[at] is not last:
            try:
                at = statements.index(last, at)
            except ValueError:
                at = statements.index(last)       # (moved earlier: the -r reorder)
            self._orphan_at[id(last)] = at
        return at + 1

    def _script_anchor(self, name):
        """The last statement of the script (not an orphan) called `name` and not
        dropped, or None."""
        if name not in self._anchors:
            found = None
            for st in self.statements:
                if st.name == name and st.node is not None and not st.dropped:
                    found = st
            self._anchors[name] = found
        return self._anchors[name]

    def plain_r(self, section_start):
        """-r: does the script assign nothing, and is every statement that gets an
        output section at address 0 with input section descriptions only (ldpy's -r
        script)?  Then each output section is its inputs one after the other from 0,
        all the SECTIONS walk would find, and a -r link skips the walk (and its
        imports) over the statements of thousands of COMDAT members."""
        if section_start:
            return False
        for node in self.script.section_statements():
            if not isinstance(node, ast.OutputSection):
                return False                    # (assignments, ASSERTs, OVERLAYs)
        for st in self.statements:
            node = st.node
            if node is None or st.dropped:
                continue
            if not all(isinstance(c, ast.InputSectionDesc) for c in node.commands):
                return False
            if st.out is not None and (
                    node.address != ("num", 0) or node.lma is not None or node.align is not None or
                    node.subalign is not None or node.region or node.lma_region or node.type or
                    node.fill is not None or node.align_with_input):
                return False
        return True

    # -r: ldelf_place_orphan's classes and the statement each follows ("end": after all)
    _R_ANCHORS = {"text": ".text", "rodata": ".rodata", "tdata": ".tdata", "data": ".data",
                  "bss": ".bss", "note": ".interp", "nonalloc": ".comment"}

    def _orphan_statement_r(self, sec, name, unique):
        """-r: the statement of a same-named orphan of the same type and SHF_ALLOC, or
        of the script; else a new one, after the last orphan of its class placed after
        that class's statement of GNU ld's -r script, or (a user script without it)
        after what lang_output_section_find_by_flags finds, kept for the class as ld
        keeps it (hold[].os); debugging sections go last.  New statements are linked
        after the one they follow and put in the list once (finish_orphans): -r makes
        an orphan for every COMDAT member, thousands in C++."""
        if not unique:
            key = (name, sec.type, bool(sec.flags & SHF_ALLOC))
            st = self._orphan_of.get(key)
            if st is not None and not st.dropped:
                return st
            st = self._script_names().get(name)
            if st is not None:
                self._orphan_of[key] = st
                return st
        st = Statement(None, name)
        st.orphan_kind = (sec.flags, sec.type)
        if not unique:
            self._orphan_of[key] = st
        kind = _r_kind(sec)
        if kind == "end":
            self._r_tail.append(st)
            return st
        entry = self._r_chain.get(kind)
        if entry is None:
            anchor = self._script_names(last=True).get(self._R_ANCHORS[kind])
            if anchor is None and kind != "nonalloc":
                anchor = self._find_by_flags_r(sec, kind)
            if anchor is None and kind == "nonalloc":
                self._r_tail.append(st)
                return st
            # (no statement of its kind: ld.bfd puts it first, after its *ABS* section)
            entry = self._r_chain[kind] = [anchor, anchor]
        # right after the last orphan of its class (or the statement the class follows)
        key = id(entry[1])
        after = self._r_follow.get(key)
        if after is None:
            self._r_follow[key] = [st]
        else:
            after.append(st)
        entry[1] = st
        st.after = entry[0]
        self._r_pending = True
        return st

    def group_orphan(self, sec):
        """-r: the statement of a COMDAT group member that nothing can take (no
        /DISCARD/, no --orphan-handling): place(), once per member, made short."""
        return self._orphan_statement_r(sec, sec.name, True)

    def _script_names(self, last=False):
        """-r: name -> the first (or last) script statement of that name."""
        if self._script_by_name is None:
            first, final = {}, {}
            for st in self.statements:
                if st.node is not None and not st.dropped and st.name != DISCARD:
                    first.setdefault(st.name, st)
                    final[st.name] = st
            self._script_by_name = (first, final)
        return self._script_by_name[1 if last else 0]

    def finish_orphans(self):
        """-r: put the orphans made since the last call into the statement list: each
        right after the statement it follows, the latest first (as inserting it there
        at once would have)."""
        if not self._r_pending and not self._r_tail:
            return
        get = self._r_follow.get
        order = []
        for st in [*get(id(None), ())[::-1], *self.statements, *self._r_tail]:
            order.append(st)
            after = get(id(st))
            if after:
                # (what follows st: the latest first, each with what follows it)
                stack = list(after)
                while stack:
                    x = stack.pop()
                    order.append(x)
                    more = get(id(x))
                    if more:
                        stack.extend(more)
        self.statements[:] = order
        self._statements_changed()
        self._r_follow, self._r_tail, self._r_pending = {}, [], False

    def _find_by_flags_r(self, sec, kind):
        """-r, no statement of the orphan's class: GNU ld's lang_output_section_find_by_flags,
        the last statement whose sections agree with the orphan on the flags that
        matter for its class, first among those of the same ELF type, then among all.
        A statement is judged by what its inputs give it; one that only data commands
        fill is loaded and writable, of no type yet; one that gets nothing is no match."""
        self.finish_orphans()
        future = self._future_flags()
        t = sec.type
        if kind == "tdata":
            # TLS: after the last TLS statement, else after the last writable loaded one
            # (.tdata may follow .data), whatever their types
            found, seen_tls = None, False
            for st, flags, type_ in self._judged_statements(future):
                if flags & SHF_ALLOC and flags & SHF_TLS:
                    found, seen_tls = st, True
                elif seen_tls:
                    break
                elif flags & SHF_ALLOC and flags & SHF_WRITE and type_ != SHT_NOBITS:
                    found = st
            return found
        for same_type in (True, False):
            found = None
            for st, flags, type_ in self._judged_statements(future):
                if (not same_type or type_ == t) and _r_matches(kind, flags, type_):
                    found = st
            if found is not None:
                return found
        return None

    def _judged_statements(self, future):
        """(statement, flags, type) of the statements an orphan may follow under -r."""
        for st in self.statements:
            if st.name == DISCARD or st.dropped:
                continue
            have = future.get(id(st)) if st.node is not None else getattr(st, "orphan_kind", None)
            if have is None:
                if not _data_only(st):
                    continue
                have = (SHF_ALLOC | SHF_WRITE, None)
            yield st, have[0], have[1]

    def _statement_kind(self, st, kind):
        if st.out is not None and st.out.chunks:
            return kind(st.out.flags, st.out.type)
        # GNU ld places orphans after every input section went to its statement:
        # judge a statement not filled yet by what it is going to get
        filled = self._future_flags().get(id(st)) or getattr(st, "orphan_kind", None)
        if filled is not None:
            return kind(*filled)
        # not filled yet: judge by the name, like GNU ld's well-known section list
        n = st.name
        if n.startswith((".text", ".init", ".fini", ".plt")):
            return "text"
        if n.startswith((".tdata",)):
            return "tdata"
        if n.startswith(".tbss"):
            return "tbss"
        if n.startswith((".bss", ".sbss", ".lbss")) or n == "COMMON":
            return "bss"
        if n.startswith((".data", ".got", ".sdata", ".dynamic", ".init_array", ".fini_array",
                         ".preinit_array", ".ctors", ".dtors", ".ldata")):
            return "data"
        if n.startswith(".note"):
            return "note"
        if n.startswith((".rodata", ".eh_frame", ".gcc_except_table", ".lrodata", ".interp",
                         ".hash", ".gnu.hash", ".dynsym", ".dynstr", ".gnu.version", ".rela")):
            return "rodata"
        return None


def _named_by_gnu_script(name):
    """Sections GNU ld's default script names that ldpy's leaves to orphan placement
    (debug sections and a few notes): not --unique orphans."""
    return name.startswith((".debug", ".zdebug", ".gnu.debuglto_", ".stab", ".line")) or \
        name in (".comment", ".gnu.attributes", ".note.GNU-stack")


_LOADED = {"text", "rodata", "data", "wtext"}
_FALLBACK = {"note": [{"note"}, {"rodata"}, {"text"}],
             "rela": [{"rela"}, {"rodata", "note", "rela"}, {"rodata", "note", "rela", "text"}],
             "rodata": [{"rodata"}, {"rodata", "text"}],
             "text": [{"text"}, {"wtext"}],
             "tdata": [{"tdata"}, {"data"}, {"bss"}],
             "tbss": [{"tbss"}, {"tdata"}, {"bss"}, {"data"}],
             "data": [{"data"}, _LOADED],
             "bss": [{"bss"}, _LOADED | {"bss", "note", "rela", "tdata", "tbss"}]}


def _r_kind(sec):
    """ldelf_place_orphan's class of a -r orphan (its hold[] entry): writable before
    code, TLS both .tdata, any NOBITS .bss; non-allocated debugging sections last."""
    flags, t = sec.flags, sec.type
    if not flags & SHF_ALLOC:
        from ldpy.relocatable import is_debugging
        return "end" if is_debugging(sec.name) else "nonalloc"
    if t == SHT_NOTE:
        return "note"
    if t == SHT_NOBITS and not flags & SHF_TLS:
        return "bss"
    if flags & SHF_TLS:
        return "tdata"
    if flags & SHF_WRITE:
        return "data"
    if flags & SHF_EXECINSTR:
        return "text"
    return "rodata"


def _r_matches(kind, flags, type_):
    """Whether a statement's (flags, type) suits a -r orphan of this class (the flag
    masks of lang_output_section_find_by_flags: read-only data may follow code)."""
    if not flags & SHF_ALLOC:
        return False
    tls = flags & SHF_TLS
    if kind == "tdata":
        return bool(tls)
    if tls:
        return False
    if kind == "bss":
        return True
    if type_ == SHT_NOBITS:
        return False
    if kind == "data":
        return bool(flags & SHF_WRITE)
    if flags & SHF_WRITE:
        return False
    return kind != "text" or bool(flags & SHF_EXECINSTR)


def _data_only(st):
    """A script statement with data commands (BYTE, LONG, ...) that no input fills yet."""
    return st.node is not None and any(isinstance(c, ast.Data) for c in st.node.commands)


def _same_kind(orphan_kind, sec):
    """-r: a same-named orphan joins an earlier one only with the same type and
    SHF_ALLOC (GNU ld compares SEC_ALLOC/SEC_LOAD and the ELF type)."""
    return orphan_kind is not None and orphan_kind[1] == sec.type and \
        not (orphan_kind[0] ^ sec.flags) & SHF_ALLOC


def _note_align(st):
    """The alignment of a note statement's section (a linker-made note that is
    not there yet: .note.gnu.property is 8-aligned, the others 4), else None."""
    if st.out is not None and st.out.chunks:
        return st.out.align if st.out.type == SHT_NOTE else None
    if st.node is not None and st.name.startswith(".note") and st.node.address != ("num", 0):
        # (an empty `.note.x 0 :` is a non-allocated statement: AArch64's .note.gnu.arm.ident)
        return 8 if st.name == ".note.gnu.property" else 4
    return None


def _kind(flags, type_):
    if not flags & SHF_ALLOC:
        return None
    if flags & SHF_TLS:
        return "tbss" if type_ == SHT_NOBITS else "tdata"
    if flags & SHF_EXECINSTR:
        # (writable code matches no orphan kind: GNU ld compares the read-only flag)
        return "wtext" if flags & SHF_WRITE else "text"
    if flags & SHF_WRITE:
        return "bss" if type_ == SHT_NOBITS else "data"
    if type_ == SHT_NOTE:
        return "note"
    if type_ == SHT_RELA:
        return "rela"
    return "rodata"


class _Synth:
    """What place() needs to know of a linker-made section."""
    __slots__ = ("name", "type", "flags", "align")

    def __init__(self, name, type_, flags):
        self.name, self.type, self.flags, self.align = name, type_, flags, 1
