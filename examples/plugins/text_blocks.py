"""SplitText: split an output section into blocks of at most N bytes.

An OutputSectionIterator.  Options `section=.text size=4096` (defaults shown):
in CreatingSections it walks the section's chunks in layout order and, each
time the next chunk would make the current block larger than `size`, starts
a new output section `.text.block1`, `.text.block2`, ... ; the chunks move
there, in order.  Useful for targets that load code in fixed-size pages or
banks.  A chunk larger than `size` gets a block of its own and a warning.
The blocks follow the section (GNU ld's orphan placement), so the program
runs as before; -Map shows every chunk moved.

    PLUGIN_OUTPUT_SECTION_ITER("examples/plugins/text_blocks.py", "SplitText", "size=4096")
"""
from ldpy.plugin import OutputSectionIteratorPlugin, SUCCESS


class SplitText(OutputSectionIteratorPlugin):
    def init(self, options):
        opts = dict(w.split("=", 1) for w in options.split() if "=" in w)
        self.section = opts.get("section", ".text")
        self.size = int(opts.get("size", "4096"), 0)
        self.out = None

    def process_output_section(self, output):
        if output.name == self.section:
            self.out = output

    def run(self, verbose):
        L = self.linker
        if not L.is_state("CreatingSections") or self.out is None:
            return SUCCESS
        block, used, moved = 0, 0, 0
        for rule in self.out.rules():
            for c in rule.chunks():
                pad = -used % max(c.alignment, 1)
                if used and used + pad + c.size > self.size:
                    block, used, pad = block + 1, 0, 0
                if c.size > self.size:
                    L.warning(f"chunk {c.name} ({c.size} bytes) is larger than a block")
                used += pad + c.size
                if block:
                    L.remove_chunk(rule, c)
                    L.assign_to_output_section(c, f"{self.section}.block{block}", f"block {block}")
                    moved += 1
        L.add_link_stat("blocks", block + 1)
        L.add_link_stat("chunks moved", moved)
        return SUCCESS
