"""XML bodies as JSON-like documents (defusedxml: no entity expansion, no external DTDs).

Namespaces are dropped from names (`{ns}Id` -> `Id`); an element with children becomes a dict,
a repeated child a list, a leaf its text (None when `xsi:nil="true"`); attributes are kept
under `@name` (`xsi:type` -> `@type`).
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from engine.connectors.protocol import ParseError

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(body: bytes) -> Element:
    """The root element; raises ParseError for malformed or dangerous XML."""
    try:
        root: Element = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError, LookupError, RecursionError):
        # LookupError: an XML declaration naming an encoding Python does not know.
        raise ParseError("body is not well-formed, safe XML") from None
    return root


def to_document(element: Element) -> Any:
    """The element as a dict/list/str tree (see the module docstring)."""
    attrs = {f"@{local(k)}": v for k, v in element.attrib.items() if k != XSI + "nil"}
    if element.attrib.get(XSI + "nil") == "true":
        return None
    children = list(element)
    if not children:
        text = (element.text or "").strip()
        if attrs:
            return {**attrs, "#text": text} if text else attrs
        return text
    doc: dict[str, Any] = dict(attrs)
    for child in children:
        name = local(child.tag)
        value = to_document(child)
        if name in doc:
            existing = doc[name]
            doc[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            doc[name] = value
    return doc


def find(element: Element, name: str) -> Element | None:
    """The first descendant (or the element itself) whose local name is `name`."""
    for node in element.iter():
        if local(node.tag) == name:
            return node
    return None
