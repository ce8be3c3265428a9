#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A strict reader of the Prometheus text exposition format (version 0.0.4), for tests.

    promtext.py FILE      prints one JSON object: {"name{label=value,...}": value, ...}
                          and exits 1 with the reason on the first line it cannot accept.

Checked: every sample belongs to a family declared by one # TYPE line before it (counter,
gauge, histogram, summary, untyped); names and label names are valid; label values are
quoted with only \\\\, \\" and \\n escapes; values are floats; counters (and histogram
buckets, _sum, _count) are not negative; a family's samples are not split by another
family; no sample appears twice; histogram buckets are cumulative, end with le="+Inf", and
that bucket equals _count.
"""
import json
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class Bad(Exception):
    pass


def parse_labels(s, i):
    """s[i] is '{'; returns (labels, index after '}')."""
    labels = {}
    i += 1
    while True:
        if s[i] == "}":
            return labels, i + 1
        m = LABEL.match(s, i)
        if not m:
            raise Bad("bad label name")
        name = m.group(0)
        i = m.end()
        if s[i] != "=" or s[i + 1] != '"':
            raise Bad("label without =\"")
        i += 2
        val = []
        while s[i] != '"':
            if s[i] == "\\":
                nxt = s[i + 1]
                if nxt not in '\\"n':
                    raise Bad("bad escape in label value")
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif s[i] == "\n":
                raise Bad("newline in label value")
            else:
                val.append(s[i])
                i += 1
        i += 1
        if name in labels:
            raise Bad("label given twice")
        labels[name] = "".join(val)
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise Bad("expected , or }")


def family_of(name, types):
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ("histogram", "summary"):
            return base
    return None


def parse(text):
    types, samples, seen_families, current = {}, {}, [], None
    hist = {}
    if text and not text.endswith("\n"):
        raise Bad("the last line has no newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        try:
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                    if len(parts) < 3 or not NAME.fullmatch(parts[2]):
                        raise Bad("bad metric name in " + parts[1])
                    if parts[1] == "TYPE":
                        if parts[2] in types:
                            raise Bad("TYPE given twice")
                        if parts[2] in seen_families:
                            raise Bad("TYPE after the family's samples")
                        if len(parts) < 4 or parts[3] not in TYPES:
                            raise Bad("unknown type")
                        types[parts[2]] = parts[3]
                continue
            if not line.strip():
                continue
            m = NAME.match(line)
            if not m:
                raise Bad("bad metric name")
            name, i = m.group(0), m.end()
            labels = {}
            if i < len(line) and line[i] == "{":
                labels, i = parse_labels(line + "\n", i)
            rest = line[i:].split()
            if not line[i:i + 1] == " " or len(rest) not in (1, 2):
                raise Bad("expected ' value [timestamp]'")
            value = float(rest[0])  # accepts NaN, +Inf, -Inf as the format does
            fam = family_of(name, types)
            if fam is None:
                raise Bad("sample before its # TYPE")
            if fam != current:
                if fam in seen_families:
                    raise Bad("family split by another one")
                seen_families.append(fam)
                current = fam
            key = name + "{" + ",".join(f"{k}={labels[k]}" for k in sorted(labels)) + "}"
            if key in samples:
                raise Bad("sample given twice")
            samples[key] = value
            kind = types[fam]
            if kind in ("counter", "histogram") and (value < 0 or math.isnan(value)):
                raise Bad("negative or NaN counter")
            if kind == "histogram":
                other = {k: v for k, v in labels.items() if k != "le"}
                h = hist.setdefault((fam, json.dumps(other, sort_keys=True)),
                                    {"buckets": [], "count": None})
                if name == fam + "_bucket":
                    if "le" not in labels:
                        raise Bad("bucket without le")
                    h["buckets"].append((float(labels["le"]), value))
                elif name == fam + "_count":
                    h["count"] = value
        except (Bad, ValueError, IndexError) as e:
            raise Bad(f"line {n}: {e}: {line!r}")
    for (fam, _), h in hist.items():
        b = h["buckets"]
        if not b or b[-1][0] != math.inf:
            raise Bad(f"{fam}: no le=\"+Inf\" bucket last")
        if any(b[i][0] >= b[i + 1][0] or b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            raise Bad(f"{fam}: buckets not increasing and cumulative")
        if h["count"] != b[-1][1]:
            raise Bad(f"{fam}: _count differs from the +Inf bucket")
    return samples


if __name__ == "__main__":
    try:
        with open(sys.argv[1]) as f:
            print(json.dumps(parse(f.read())))
    except Bad as e:
        print(f"not Prometheus text: {e}", file=sys.stderr)
        sys.exit(1)
