"""The Spark SQL side of a JSON log's source layer: `from_json` with a schema built from the
mapping's field paths (Zeek's flat keys with dots, Suricata's nested objects and arrays)."""

from __future__ import annotations

import re

from spot_lab.ingest.mapping import is_list

_INDEX = re.compile(r"^(.*)\[(\d+|\*)\]$")


def _tree(paths: list[tuple[str, str]], nested: bool) -> dict:
    """{key: subtree | 'STRING' | 'ARRAY<STRING>'}; a key ending in [n] or [*] is an array of
    objects (a trailing [*] alone: an array of strings)."""
    root: dict = {}
    for name, ftype in paths:
        parts = name.split(".") if nested else [name]
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            match = _INDEX.match(part)
            key = match.group(1) if match else part
            if last and not match:  # under an array of objects ([*]) the leaf is a string
                in_array = any(_INDEX.match(p) and p.endswith("[*]") for p in parts[:-1])
                node[key] = "ARRAY<STRING>" if is_list(ftype) and not in_array else "STRING"
            elif last:
                node[key] = "ARRAY<STRING>"
            else:
                child = node.setdefault(key, {"[]": {}} if match else {})
                node = child["[]"] if match else child
    return root


def _ddl(tree: dict) -> str:
    fields = []
    for key, value in tree.items():
        if isinstance(value, str):
            typ = value
        elif "[]" in value:
            typ = f"ARRAY<{_ddl(value['[]'])}>"
        else:
            typ = _ddl(value)
        fields.append(f"`{key.replace('`', '``')}`: {typ}")
    return f"STRUCT<{', '.join(fields)}>"


def _access(name: str, nested: bool) -> str:
    if not nested:
        return f"_j.`{name.replace('`', '``')}`"
    out = "_j"
    for part in name.split("."):
        match = _INDEX.match(part)
        key = match.group(1) if match else part
        out += f".`{key}`"
        if match and match.group(2) != "*":
            out += f"[{match.group(2)}]"
    return out


def json_source(renderer, layout) -> str:
    """The typed fields of a JSON chunk (its `line` column) in Spark SQL."""
    m, d = renderer.m, renderer.d
    schema = _ddl(_tree(list(m.fields.items()), layout.nested))
    selects, raws, checks = ["_line"], [], []
    for name, ftype in m.fields.items():
        ref = _access(name, layout.nested)
        if is_list(ftype):
            selects.append(f"{ref} AS {d.ident(name)}")
            continue
        raws.append(f"{ref} AS {renderer._text_of(name)}")
        expr, bad = renderer._typed(name, renderer._text_of(name))
        selects.append(f"{expr} AS {d.ident(name)}")
        if bad:
            checks.append((name, bad))
    first = f"WHEN _j IS NULL THEN {d.literal('not a JSON object')}"
    selects += ["line AS _rest", f"{renderer._bad(checks, first)} AS _bad"]
    inner = f"SELECT _line, line, from_json(line, {d.literal(schema)}) AS _j FROM _chunk"
    return f"SELECT {', '.join(selects)} FROM (SELECT *, {', '.join(raws)} FROM ({inner}) AS _jj) AS _c"
