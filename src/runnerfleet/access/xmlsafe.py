"""Hardened XML parsing for SAML metadata and responses: no DTD, no entities, bounded size.

Two layers on purpose: defusedxml refuses any DTD, entity or external reference with a precise
error, then lxml parses again with entity resolution, network and DTD loading off, because
signxml needs an lxml tree. We do not rely on libxml2's version-dependent defaults.
"""

from __future__ import annotations

import defusedxml
import defusedxml.ElementTree as DefusedET
from lxml import etree

from runnerfleet.errors import SpecError

NS = {
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


def parse_hardened(data: bytes, *, what: str, max_bytes: int) -> etree._Element:
    """Parse ``data`` or raise SpecError saying, in plain words, why it was refused."""
    if len(data) > max_bytes:
        raise SpecError(
            f"the {what} is {len(data):,} bytes; the limit is {max_bytes:,}",
            hint=f"check that the file really is the {what}; oversized input is refused unread",
        )
    try:
        DefusedET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden as exc:
        raise _refused(what, "it contains a DOCTYPE declaration") from exc
    except defusedxml.EntitiesForbidden as exc:
        raise _refused(what, "it declares XML entities") from exc
    except defusedxml.ExternalReferenceForbidden as exc:
        raise _refused(what, "it references an external resource") from exc
    except DefusedET.ParseError as exc:
        raise SpecError(
            f"the {what} is not well-formed XML: {exc}",
            hint=f"save the {what} again without editing it (an XML file, UTF-8)",
        ) from exc
    try:
        return etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise SpecError(f"the {what} is not well-formed XML: {exc}", hint="save it again") from exc


def _refused(what: str, why: str) -> SpecError:
    return SpecError(
        f"the {what} was refused: {why}",
        hint=f"SAML documents never need a DTD or entities; use the {what} exactly as the "
        "identity provider produced it (this pattern is used by XXE and entity-bomb attacks)",
    )


def text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""
