"""FunctionOrder: order .text by a profile, hot functions first, cold ones last.

A LinkerPlugin.  Its option is a profile file: one function name per line,
hottest first; a line `--- cold` starts the list of cold functions, which go
to the end of .text (a hot/cold split).  Functions the profile does not name
stay in the middle, in link order.  Functions are found by their symbols: each
chunk (input section) moves as a whole, so with -ffunction-sections every
function moves alone; without it, a file's .text moves with its hottest function.

    # profile.txt
    main
    sqlite3_step
    --- cold
    usage

    --plugin-config order.yaml, with
    GlobalPlugins:
      - Type: LinkerPlugin
        Name: FunctionOrder
        Library: examples/plugins/function_order.py
        Options: profile.txt

The map file's "Linker Plugin Information" shows the rule before and after.
"""
from ldpy.plugin import LinkerPlugin


def read_profile(text):
    hot, cold = [], []
    into = hot
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("---"):
            into = cold
            continue
        into.append(line)
    return hot, cold


def function_of(chunk_name):
    """.text.NAME (and .text.hot.NAME, .text.unlikely.NAME...) -> NAME."""
    for prefix in (".text.hot.", ".text.unlikely.", ".text.startup.", ".text.exit.", ".text."):
        if chunk_name.startswith(prefix):
            return chunk_name[len(prefix):]
    return None


class FunctionOrder(LinkerPlugin):
    def init(self, options):
        L = self.linker
        path = L.find_config_file(options.strip()) if options.strip() else None
        if path is None:
            L.fatal(f"cannot find the profile '{options}'")
        self.hot, self.cold = read_profile(L.get_file_contents(path))
        self.output = ".text"

    def act_before_performing_layout(self):
        L = self.linker
        out = L.get_output_section(self.output)
        if out is None:
            L.warning(f"no output section {self.output}")
            return
        # each chunk's rank: by the symbols the profile names (a chunk that holds
        # several functions takes its hottest), else by its section name .text.NAME
        rank = {}
        for i, name in enumerate(self.hot):
            s = L.get_symbol(name)
            if s is not None and s.chunk is not None:
                rank.setdefault(s.chunk, (0, i))
        for i, name in enumerate(self.cold):
            s = L.get_symbol(name)
            if s is not None and s.chunk is not None:
                rank.setdefault(s.chunk, (2, i))
        hot_names = {n: i for i, n in enumerate(self.hot)}
        cold_names = {n: i for i, n in enumerate(self.cold)}

        def rank_of(c):
            r = rank.get(c)
            if r is None:
                f = function_of(c.name)
                r = (0, hot_names[f]) if f in hot_names else (2, cold_names[f]) if f in cold_names else None
            return r

        # the section's rules in order (the default script's .text has several:
        # .text.unlikely, .text.exit, ..., then .text.*): hot chunks go to the front
        # of the first rule, cold ones to the end of the last, the rest stay put
        rules = out.rules()
        first, last = rules[0], rules[-1]
        hot, cold, n = [], [], 0
        for r in rules:
            chunks = r.chunks()
            stay = []
            for c in chunks:
                k = rank_of(c)
                if k is None or k[0] == 1:
                    stay.append(c)
                else:
                    (hot if k[0] == 0 else cold).append((k, n, c))
                n += 1
            if len(stay) != len(chunks):        # (taken out everywhere first, then placed)
                L.update_chunks(r, stay, "profile order")
            if r is first:
                first_stay = stay
            if r is last:
                last_stay = stay
        hot.sort(key=lambda t: (t[0], t[1]))        # (stable: link order within a class)
        cold.sort(key=lambda t: (t[0], t[1]))
        if first is last:
            L.update_chunks(first, [c for *_, c in hot] + first_stay + [c for *_, c in cold], "profile order")
        else:
            L.update_chunks(first, [c for *_, c in hot] + first_stay, "profile order")
            L.update_chunks(last, last_stay + [c for *_, c in cold], "profile order")
        L.add_link_stat("hot chunks placed", len(hot))
        L.add_link_stat("cold chunks placed", len(cold))
