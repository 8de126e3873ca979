"""PlaceByTable: a SectionMatcher that sends chosen input sections to the
output sections a table names, whatever the linker script's rules say.

Its option is the table file: one `PATTERN OUTPUT` per line, where PATTERN is
a glob over the section name (`.text.isr_*`) or over `FILE(SECTION)`
(`*uart.o(.rodata*)`); the first matching line wins.  An OUTPUT the script
does not have becomes a new output section (placed as GNU ld places orphans).

    # table.txt
    .text.isr_*      .fast_text
    *crc.o(.rodata*) .fast_data

    PLUGIN_SECTION_MATCHER("examples/plugins/section_table.py", "PlaceByTable", "table.txt")
"""
import fnmatch

from ldpy.plugin import SectionMatcherPlugin, SUCCESS


class PlaceByTable(SectionMatcherPlugin):
    def init(self, options):
        L = self.linker
        path = L.find_config_file(options.strip())
        if path is None:
            L.fatal(f"cannot find the placement table '{options}'")
        self.table = []
        for n, line in enumerate(L.get_file_contents(path).splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                L.fatal(f"{path}:{n}: expected 'PATTERN OUTPUT'")
            self.table.append((parts[0], parts[1]))
        self.placed = 0

    def process_section(self, section):
        if not section.flags & 2:             # only allocated sections
            return
        full = f"{section.file.name}({section.name})"
        for pattern, output in self.table:
            if fnmatch.fnmatchcase(section.name, pattern) or fnmatch.fnmatchcase(full, pattern):
                self.linker.set_output_section(section, output, f"table: {pattern}")
                self.placed += 1
                return

    def run(self, verbose):
        self.linker.add_link_stat("sections placed by table", self.placed)
        if verbose:
            self.linker.verbose(f"{self.placed} sections placed")
        return SUCCESS
