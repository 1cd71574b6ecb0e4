"""Access feature timings: what the hardened parsing and signature checks cost.

Run: .venv/bin/python -m benchmarks.bench_access
Measures medians of repeated runs, side by side in one process, on locally generated data.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from cfnlint.api import ManualArgs, lint
from lxml import etree
from tests.access.samlkit import NOW, make_idp, metadata_xml, response_xml

from benchmarks.timing import median_ms
from runnerfleet.access.assertion import check_assertion
from runnerfleet.access.limits import load_access
from runnerfleet.access.metadata import check_metadata, read_metadata
from runnerfleet.access.template import render, synthesize
from runnerfleet.access.xmlsafe import parse_hardened
from runnerfleet.errors import SpecError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "access" / "access.yaml"
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
    )
    + b"]><r>&i;</r>"
)


def refuse_bomb() -> None:
    try:
        parse_hardened(BOMB, what="bench", max_bytes=1 << 20)
    except SpecError:
        return
    raise AssertionError("the entity bomb was parsed")


def main() -> None:
    idp = make_idp()
    md_bytes = metadata_xml(idp)
    md = read_metadata(md_bytes)
    at = NOW + dt.timedelta(minutes=1)
    one = base64.b64encode(response_xml(idp))
    many = base64.b64encode(
        response_xml(idp, groups=tuple(f"{i:08x}-0000-4000-8000-000000000000" for i in range(200)))
    )
    spec = load_access(EXAMPLE)
    docs = [
        spec.resolve_path(p).read_text()
        for p in (spec.saml.vpn_metadata, spec.saml.portal_metadata)
    ]
    groups = {"Runner Operators": "a1b2c3d4e5-11112222-3333-4444-5555-666677778888"}
    body = render(synthesize(spec, docs[0], docs[1], groups))
    plain = etree.XMLParser()
    rows = [
        ("metadata: plain lxml parse", median_ms(lambda: etree.fromstring(md_bytes, plain), 200)),
        (
            "metadata: hardened parse (defusedxml + lxml)",
            median_ms(lambda: parse_hardened(md_bytes, what="m", max_bytes=10**7), 200),
        ),
        (
            "metadata: read + all checks",
            median_ms(lambda: check_metadata(read_metadata(md_bytes), NOW), 200),
        ),
        ("entity bomb (~1 GB if expanded): refused", median_ms(refuse_bomb, 200)),
        ("assertion: verify + check, 1 group", median_ms(lambda: check_assertion(one, md, at), 50)),
        (
            "assertion: verify + check, 200 groups",
            median_ms(lambda: check_assertion(many, md, at), 50),
        ),
        (
            "template: synthesize + render",
            median_ms(lambda: render(synthesize(spec, docs[0], docs[1], groups)), 200),
        ),
        (
            "template: cfn-lint (Python API, warm)",
            median_ms(lambda: lint(body, config=ManualArgs(regions=["eu-west-1"])), 5),
        ),
    ]
    print("| measurement | median ms |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value:.2f} |")
    ratio = rows[1][1] / rows[0][1]
    print(
        f"\nhardened/plain parse ratio: {ratio:.1f}x; response sizes: "
        f"{len(one):,} B (1 group), {len(many):,} B (200 groups) of 131,072"
    )


if __name__ == "__main__":
    main()
