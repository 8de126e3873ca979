"""--plugin-config FILE: ELD's YAML plugin configuration.

    GlobalPlugins:
      - Type: LinkerPlugin          # or SectionIterator, SectionMatcher, OutputSectionIterator
        Name: PluginName
        Library: LibraryName
        Options: "some options"     # optional
    OutputSectionPlugins:
      - OutputSection: .text
        Type: ControlMemorySize     # or ControlFileSize
        Name: PluginName
        Library: LibraryName

Only this subset of YAML is read (mappings of lists of flat mappings, plain or
quoted scalars, comments, `---`), so no YAML library is needed.
"""
from ldpy.diag import LinkError

_TYPES = ("LinkerPlugin", "SectionIterator", "SectionMatcher", "OutputSectionIterator",
          "ControlMemorySize", "ControlFileSize")
_KEYS = {"Type", "Name", "Library", "Options", "OutputSection"}


def _scalar(text, where):
    text = text.strip()
    if text[:1] in "\"'":
        q = text[0]
        end = text.find(q, 1)
        if end < 0:
            raise LinkError(f"{where}: unterminated string")
        return text[1:end]
    if " #" in text:
        text = text[:text.index(" #")].rstrip()
    return text


def parse_plugin_config(text, path):
    """{list name: [{key: value}]} from the YAML subset."""
    out = {}
    cur_list = None
    item = None
    for n, raw in enumerate(text.splitlines(), 1):
        where = f"{path}:{n}"
        line = raw.split("#", 1)[0] if not raw.lstrip().startswith(("'", '"')) else raw
        if not line.strip() or line.strip() in ("---", "..."):
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if indent == 0:
            if not body.endswith(":"):
                raise LinkError(f"{where}: expected 'GlobalPlugins:' or 'OutputSectionPlugins:'")
            cur_list = body[:-1].strip()
            if cur_list not in ("GlobalPlugins", "OutputSectionPlugins"):
                raise LinkError(f"{where}: unknown plugin list '{cur_list}'")
            out.setdefault(cur_list, [])
            item = None
            continue
        if cur_list is None:
            raise LinkError(f"{where}: a plugin entry outside GlobalPlugins/OutputSectionPlugins")
        if body.startswith("-"):
            item = {}
            out[cur_list].append(item)
            body = body[1:].strip()
            if not body:
                continue
        if item is None:
            raise LinkError(f"{where}: expected '- Type: ...'")
        key, colon, value = body.partition(":")
        key = key.strip()
        if not colon or key not in _KEYS:
            raise LinkError(f"{where}: expected one of {', '.join(sorted(_KEYS))}")
        item[key] = _scalar(value, where)
    return out


def read_plugin_config(path, spec_class):
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError as e:
        raise LinkError(f"cannot read plugin configuration '{path}': {e.strerror}")
    lists = parse_plugin_config(text, path)
    specs = []
    for list_name, items in lists.items():
        for i, it in enumerate(items):
            where = f"{path}: {list_name}[{i}]"
            for k in ("Type", "Name", "Library"):
                if not it.get(k):
                    raise LinkError(f"{where}: missing '{k}'")
            t = it["Type"]
            if t not in _TYPES:
                raise LinkError(f"{where}: unknown plugin type '{t}' (one of {', '.join(_TYPES)})")
            section = it.get("OutputSection")
            output_plugin = t in ("ControlMemorySize", "ControlFileSize")
            if output_plugin and list_name != "OutputSectionPlugins":
                raise LinkError(f"{where}: {t} plugins belong in OutputSectionPlugins")
            if list_name == "OutputSectionPlugins" and not section:
                raise LinkError(f"{where}: missing 'OutputSection'")
            specs.append(spec_class(t, it["Library"], it["Name"], it.get("Options", ""),
                                    section if output_plugin else None, where))
    return specs
