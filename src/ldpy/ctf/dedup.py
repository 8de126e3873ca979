"""Type deduplication in libctf's three phases (ctf-dedup.c describes them).

1. Hash: every input type gets an id (``hid``) standing for its structure: kind,
   name, sizes, encoding and the hids of the types it cites.  Ids are interned
   key tuples, so equal structure means equal hid and there are no collisions.
   Below the top level, a named struct or union (or a forward to one) counts as
   a stub, its decorated name (``s foo``/``u foo``): that breaks every cycle C
   can express and makes a pointer to a struct equal to a pointer to its
   forward.
2. Conflicts: distinct hids sharing a decorated name are ambiguous.  For tagged
   names every non-forward is conflicting; for ordinary names all but the most
   cited one.  Conflictedness spreads to every type citing a conflicting one
   (structs and unions stop it: their citers cite a stub).  With
   share-duplicated, types seen in one CU only are conflicting too.
3. Emit: types in order of first appearance, leaves first; a conflicting type
   goes once into each CU's child dictionary where it appears, the others once
   into the shared parent; the parent cites conflicting structs through a
   forward of the same name.  Struct members are filled in last.
"""
import sys

from ldpy.ctf.format import (
    BadCTF, MAX_PTYPE, NAMELESS,
    K_INTEGER, K_FLOAT, K_POINTER, K_ARRAY, K_FUNCTION, K_STRUCT, K_UNION, K_ENUM,
    K_FORWARD, K_TYPEDEF, K_SLICE, K_UNKNOWN)

_NS = {K_STRUCT: "s ", K_UNION: "u ", K_ENUM: "e "}
_BUSY = -2            # hid slot of a type being hashed (a cycle through it is broken CTF)


class Out:
    """An output dictionary being built: the shared parent or one CU's child."""

    def __init__(self, child, cuname="", order=0):
        self.child = child
        self.cuname = cuname
        self.order = order                 # input position, for the archive's order
        self.base = MAX_PTYPE + 2 if child else 1
        self.types = []                    # [kind, name, root, size, ref, extra]
        self.by_hash = {}                  # hid -> output type id
        self.fwds = {}                     # decorated name -> synthesized forward id
        self.tagged = {}                   # decorated name -> id (root structs, unions, enums, forwards)
        self.plain = {}                    # name -> id (other root named types)
        self.objt, self.func, self.vars = {}, {}, {}

    def add(self, kind, name, root, size, ref, extra):
        tid = self.base + len(self.types)
        self.types.append([kind, name, root, size, ref, extra])
        if root and name:
            ns = _NS.get(kind)
            if kind == K_FORWARD:
                ns = _NS.get(ref, "s ")
            if ns:
                self.tagged.setdefault(ns + name, tid)
            else:
                self.plain.setdefault(name, tid)
        return tid

    def get(self, tid):
        return self.types[tid - self.base]

    def lookup(self, kind, name, fwdkind=None):
        """ctf_lookup_by_rawname: the root type of this name in KIND's namespace."""
        ns = _NS.get(fwdkind if kind == K_FORWARD else kind)
        if ns:
            return self.tagged.get(ns + name, 0)
        return self.plain.get(name, 0)


class Dedup:
    def __init__(self, inputs, share_duplicated=False):
        self.inputs = inputs
        self.share_dup = share_duplicated
        index = {id(d): i for i, d in enumerate(inputs)}
        self.parent_of = [index.get(id(d.parent), -1) if d.parent is not None else -1
                          for d in inputs]
        self.keys = {}
        self.hkind, self.hname, self.hfwd, self.members = [], [], [], []
        self.hashes = [[None] * len(d.types) for d in inputs]
        self.citers = {}
        self.name_counts = {}
        self.origin = {}
        self.conflicting = set()
        self._hashers = [None] * len(inputs)
        self.cites = [None] * len(inputs)
        self._child = [d.is_child for d in inputs]

    # -- phase 1 ---------------------------------------------------------------

    def resolve(self, inp, tid):
        """(input, index) of type TID as cited from input INP."""
        if self._child[inp]:
            if tid <= MAX_PTYPE:
                p = self.parent_of[inp]
                if p < 0:
                    raise BadCTF(f"type {tid:#x} cites a parent dictionary that is missing")
                inp, idx = p, tid
            else:
                idx = tid - MAX_PTYPE - 1
        else:
            idx = tid
        if not 0 < idx < len(self.inputs[inp].types):
            raise BadCTF(f"type id {tid:#x} is out of range")
        return inp, idx

    def _intern(self, key, kind, name, fwd):
        hid = self.keys.get(key)
        if hid is None:
            hid = self.keys[key] = len(self.hkind)
            self.hkind.append(kind)
            self.hname.append(name)
            self.hfwd.append(fwd)
            self.members.append([])
        return hid

    def _record_origin(self, dec, inp):
        o = self.origin.get(dec)
        if o is None:
            self.origin[dec] = inp
        elif o != inp:
            self.origin[dec] = -1

    def hasher(self, inp):
        """The hash function of input INP's type ids (one closure per input, so
        that the per-reference work stays a few local lookups)."""
        h = self._hashers[inp]
        if h is not None:
            return h
        d = self.inputs[inp]
        types, row = d.types, self.hashes[inp]
        n = len(types)
        stubs = [None] * n                 # hids of this input's types cited as stubs
        cites = self.cites[inp] = [0] * n  # how often each type was cited (or visited)
        child_dict = d.is_child
        parent_h = None
        if child_dict and self.parent_of[inp] >= 0:
            parent_h = self.hasher(self.parent_of[inp])
        intern, compute = self._intern, self._compute
        members, share_dup, origin = self.members, self.share_dup, self._record_origin

        def h(tid, child):
            if tid == 0:
                return -1
            if child_dict:
                if tid <= MAX_PTYPE:
                    if parent_h is None:
                        raise BadCTF(f"type {tid:#x} cites a parent dictionary that is missing")
                    return parent_h(tid, child)
                idx = tid - MAX_PTYPE - 1
            else:
                idx = tid
            if not 0 < idx < n:
                raise BadCTF(f"type id {tid:#x} is out of range")
            t = types[idx]
            kind, name = t.kind, t.name
            fwd = t.ref if kind == K_FORWARD else kind
            if name and child and (fwd == K_STRUCT or fwd == K_UNION) and \
                    (kind == K_STRUCT or kind == K_UNION or kind == K_FORWARD):
                hid = stubs[idx]
                if hid is None:
                    dec = _NS[fwd] + name      # a stub: the decorated name stands for it
                    if share_dup:
                        origin(dec, inp)
                    hid = stubs[idx] = intern(("stub", dec), -1, name, fwd)
                return hid
            hid = row[idx]
            if hid is None:
                row[idx] = _BUSY
                hid = compute(inp, h, t, kind, name, fwd)
                row[idx] = hid
                members[hid].append((inp, idx))
            elif hid == _BUSY:
                raise BadCTF(f"type {tid:#x} cites itself other than through a named struct or union")
            cites[idx] += 1           # (names are counted per citation: count_names)
            return hid

        self._hashers[inp] = h
        return h

    def _compute(self, inp, h, t, kind, name, fwd):
        cites = ()
        if kind in NAMELESS:
            name = ""
        if kind == K_INTEGER or kind == K_FLOAT:
            key = (kind, name, t.size, t.extra)
        elif kind == K_TYPEDEF or kind == K_POINTER or 11 <= kind <= 13:
            r = h(t.ref, True)
            key, cites = (kind, name, r), (r,)
        elif kind == K_STRUCT or kind == K_UNION:
            ms = tuple((mn, h(mt, True), mo) for mn, mo, mt in t.extra)
            key, cites = (kind, name, t.size, ms), [m[1] for m in ms]
        elif kind == K_FUNCTION:
            args = t.extra
            varargs = bool(args) and args[-1] == 0
            if varargs:
                args = args[:-1]
            r = h(t.ref, True)
            a = tuple(h(x, True) for x in args)
            key, cites = (kind, r, a, varargs), (r,) + a
        elif kind == K_ARRAY:
            c, ix, n = t.extra
            c, ix = h(c, True), h(ix, True)
            key, cites = (kind, c, ix, n), (c, ix)
        elif kind == K_ENUM:
            key = (kind, name, t.size, t.extra)
        elif kind == K_FORWARD:
            key = (kind, name, fwd)
        elif kind == K_SLICE:
            st, off, bits = t.extra
            r = h(st, True)
            key, cites = (kind, t.size, r, off, bits), (r,)
        else:                                   # K_UNKNOWN
            key = (kind, name)
        if self.share_dup and name and (fwd == K_STRUCT or fwd == K_UNION):
            self._record_origin(_NS[fwd] + name, inp)
        hid = self._intern(key, kind, name, fwd)
        citers = self.citers
        for c in cites:
            if c >= 0:
                s = citers.get(c)
                if s is None:
                    citers[c] = {hid}
                else:
                    s.add(hid)
        return hid

    def hash_all(self):
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 20000))
        try:
            for inp, d in enumerate(self.inputs):
                h = self.hasher(inp)
                tid0 = MAX_PTYPE + 1 if d.is_child else 0
                try:
                    for idx in range(1, len(d.types)):
                        h(tid0 + idx, False)
                except BadCTF as e:
                    raise BadCTF(f"{d.origin}: {e}") from None
                except RecursionError:
                    raise BadCTF(f"{d.origin}: types nest too deeply") from None
        finally:
            sys.setrecursionlimit(old)
        self.count_names()

    def count_names(self):
        """name_counts: for each decorated name (and enumerator), how often each
        hash was cited under it, as ctf_dedup counts them for its conflict rule (a
        function's name counts too, though its hash ignores it)."""
        name_counts = self.name_counts
        for inp, d in enumerate(self.inputs):
            types, row, cites = d.types, self.hashes[inp], self.cites[inp]
            for idx, c in enumerate(cites):
                if not c:
                    continue
                t = types[idx]
                kind, name = t.kind, t.name
                names = []
                if name:
                    fwd = t.ref if kind == K_FORWARD else kind
                    names.append(_NS[fwd] + name if fwd in _NS else name)
                if kind == K_ENUM:
                    names.extend(en for en, _ in t.extra)
                hid = row[idx]
                for dec in names:
                    counts = name_counts.get(dec)
                    if counts is None:
                        name_counts[dec] = {hid: c}
                    else:
                        counts[hid] = counts.get(hid, 0) + c

    # -- phase 2 ---------------------------------------------------------------

    def mark(self, hid):
        stack = [hid]
        conf, citers = self.conflicting, self.citers
        while stack:
            h = stack.pop()
            if h in conf:
                continue
            conf.add(h)
            stack.extend(c for c in citers.get(h, ()) if c not in conf)

    def first_key(self, hid):
        inp, idx = self.members[hid][0]
        return (self.inputs[inp].is_child, inp, idx)

    def detect_conflicts(self):
        hkind = self.hkind
        for dec, counts in self.name_counts.items():
            if len(counts) <= 1:
                continue
            if dec[1:2] == " ":
                nonfwd = [h for h in counts if hkind[h] != K_FORWARD]
                if len(nonfwd) > 1:
                    for h in nonfwd:
                        self.mark(h)
            else:
                best = min(counts, key=lambda h: (-counts[h], self.first_key(h)))
                for h in counts:
                    if h != best:
                        self.mark(h)
        if self.share_dup:
            self._conflictify_unshared()

    def _conflictify_unshared(self):
        """share-duplicated: a type that only one CU (with its parent) has goes to
        that CU's child, unless it is a struct others see through a forward."""
        to_mark = []
        for hid, mem in enumerate(self.members):
            if not mem:
                continue
            found = rel = None
            multiple = False
            for inp, _ in mem:
                if inp == found or inp == rel:
                    continue
                if found is None:
                    found = inp
                elif rel is None and (self.parent_of[inp] == found or self.parent_of[found] == inp):
                    rel = inp
                else:
                    multiple = True
                    break
            if not multiple:
                fwd = self.hfwd[hid]
                if (fwd == K_STRUCT or fwd == K_UNION) and self.hname[hid] and \
                        self.origin.get(_NS[fwd] + self.hname[hid], 0) == -1:
                    multiple = True
            if not multiple:
                to_mark.append(hid)
        for hid in to_mark:
            self.mark(hid)

    # -- phase 3 ---------------------------------------------------------------

    def emit(self):
        self.parent = Out(False)
        self.children = {}                 # CU name -> Out
        self.child_of_input = {}
        self.pending_members = []
        order = sorted((h for h in range(len(self.members)) if self.members[h]),
                       key=self.first_key)
        visited = set()
        walk = self._walk
        for hid in order:
            if hid not in visited:
                walk(hid, visited)
        for target, tid, inp, t in self.pending_members:
            rec = target.get(tid)
            rec[5] = tuple((mn, mo, self.to_target(target, inp, mt)) for mn, mo, mt in t.extra)
        return self.parent, self.children

    def _walk(self, hid, visited):
        visited.add(hid)
        mem = self.members[hid]
        gids = mem if hid in self.conflicting else mem[:1]
        walk = self._walk
        for inp, idx in gids:
            t = self.inputs[inp].types[idx]
            kind = t.kind
            refs = ()
            if kind == K_TYPEDEF or kind == K_POINTER or 11 <= kind <= 13:
                refs = (t.ref,)
            elif kind == K_SLICE:
                refs = (t.extra[0],)
            elif kind == K_ARRAY:
                refs = t.extra[:2]
            elif kind == K_FUNCTION:
                refs = (t.ref,) + tuple(t.extra)
            for r in refs:
                if r:
                    ri, rx = self.resolve(inp, r)
                    rh = self.hashes[ri][rx]
                    if rh not in visited:
                        walk(rh, visited)
            self._emit_one(hid, inp, idx, t)

    def child_for(self, inp):
        c = self.child_of_input.get(inp)
        if c is None:
            d = self.inputs[inp]
            name = d.cuname or "unnamed-CU"
            c = self.children.get(name)
            if c is None:
                c = self.children[name] = Out(True, name, inp)
            self.child_of_input[inp] = c
        return c

    def _emit_one(self, hid, inp, idx, t):
        conflicting = hid in self.conflicting
        target = self.child_for(inp) if conflicting else self.parent
        if hid in target.by_hash and not conflicting:
            return                              # (a CU's copies of a conflicting type all go in)
        kind, name = t.kind, t.name
        if kind in NAMELESS:
            name = ""
        fwd = t.ref if kind == K_FORWARD else kind
        root = 1
        if conflicting and name:
            dup = target.lookup(kind, name, fwd)
            if dup and target.get(dup)[0] != K_FORWARD:
                root = 0
        to = self.to_target
        if kind == K_FORWARD:
            tid = target.lookup(K_FORWARD, name, fwd) if name else 0
            if not tid:
                tid = target.add(K_FORWARD, name, root, 0, fwd, None)
        elif kind == K_STRUCT or kind == K_UNION or kind == K_ENUM:
            old = target.lookup(kind, name) if name else 0
            extra = t.extra if kind == K_ENUM else ()
            if old and target.get(old)[0] == K_FORWARD:
                tid = old                       # a forward becomes the definition
                target.get(old)[:] = [kind, name, target.get(old)[2], t.size, 0, extra]
            else:
                tid = target.add(kind, name, root, t.size, 0, extra)
            if kind != K_ENUM:
                self.pending_members.append((target, tid, inp, t))
        elif kind == K_INTEGER or kind == K_FLOAT or kind == K_UNKNOWN:
            tid = target.add(kind, name, root, t.size, 0, t.extra)
        elif kind == K_ARRAY:
            c, ix, n = t.extra
            tid = target.add(kind, "", root, 0, 0, (to(target, inp, c), to(target, inp, ix), n))
        elif kind == K_FUNCTION:
            ret = to(target, inp, t.ref)
            args = tuple(to(target, inp, a) if a else 0 for a in t.extra)
            tid = target.add(kind, "", root, 0, ret, args)
        elif kind == K_SLICE:
            st, off, bits = t.extra
            tid = target.add(kind, "", root, t.size, 0, (to(target, inp, st), off, bits))
        else:                                   # typedef, pointer, cv-qualifiers
            tid = target.add(kind, name, root, 0, to(target, inp, t.ref), None)
        target.by_hash[hid] = tid               # (the last copy, as libctf's hash insert)

    def _forward_for(self, target, hid):
        """A forward standing in the parent for a conflicting struct or union."""
        if target.child or hid not in self.conflicting:
            return 0
        kind, name = self.hkind[hid], self.hname[hid]
        if not name or kind not in (K_STRUCT, K_UNION, K_FORWARD):
            return 0
        fwd = self.hfwd[hid]
        dec = _NS.get(fwd, "s ") + name
        tid = target.fwds.get(dec)
        if tid is None:
            tid = target.lookup(K_FORWARD, name, fwd) or target.add(K_FORWARD, name, 1, 0, fwd, None)
            target.fwds[dec] = tid
        return tid

    def to_target(self, target, inp, tid):
        """The id in TARGET of input type TID (cited from input INP)."""
        if tid == 0:
            return 0
        if self._child[inp] or not 0 < tid < len(self.hashes[inp]):
            inp, tid = self.resolve(inp, tid)
        hid = self.hashes[inp][tid]
        if hid in self.conflicting:
            f = self._forward_for(target, hid)
            if f:
                return f
        out = target.by_hash.get(hid)
        if out is None and target.child:
            f = self._forward_for(self.parent, hid)
            if f:
                return f
            out = self.parent.by_hash.get(hid)
        if out is None:
            raise BadCTF(f"type {tid:#x} was not emitted (internal deduplication error)")
        return out

    def mapped(self, target, inp, tid):
        """ctf_dedup_type_mapping: TID's id in TARGET, or 0."""
        if tid == 0:
            return 0
        ri, rx = self.resolve(inp, tid)
        return target.by_hash.get(self.hashes[ri][rx], 0)

    # -- symbols and variables ---------------------------------------------------

    def link_symbols(self):
        """Data objects, then functions, of each input: into the parent when the
        type is there and the name is free, else into the CU's child."""
        parent = self.parent
        for inp, d in enumerate(self.inputs):
            for functions, syms in ((False, d.objt), (True, d.func)):
                for name, tid in syms:
                    if not name:
                        continue
                    dst = self.mapped(parent, inp, tid)
                    if dst:
                        s = _check_sym(parent, name, dst, functions)
                        if s == 0:
                            continue
                        if s > 0:
                            (parent.func if functions else parent.objt)[name] = dst
                            continue
                    child = self.child_for(inp)
                    if not dst:
                        dst = self.mapped(child, inp, tid)
                        if not dst:
                            continue
                    s = _check_sym(child, name, dst, functions)
                    if s > 0:
                        (child.func if functions else child.objt)[name] = dst

    def link_variables(self):
        """Variables into the parent when their type is there and the name is
        free, else into the CU's child; then every data and function symbol as
        a variable, parent only (ctf_link_deduplicating_variables)."""
        for inp, d in enumerate(self.inputs):
            for name, tid in d.vars:
                self._variable(inp, name, tid, False)
            for name, tid in d.objt + d.func:
                self._variable(inp, name, tid, True)

    def _variable(self, inp, name, tid, parent_only):
        parent = self.parent
        dst = self.mapped(parent, inp, tid)
        if dst:
            old = parent.vars.get(name)
            if old is None:
                parent.vars[name] = dst
                return
            if old == dst:
                return
        if parent_only:
            return
        child = self.child_for(inp)
        dst = self.mapped(child, inp, tid)
        if dst and name not in child.vars:
            child.vars[name] = dst


def _check_sym(out, name, tid, functions):
    """1: absent, 0: present with this type, -1: conflicting."""
    this, that = (out.func, out.objt) if functions else (out.objt, out.func)
    if name in that:
        return -1
    old = this.get(name)
    if old is None:
        return 1
    return 0 if old == tid else -1
