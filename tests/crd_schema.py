"""Strict offline validation of custom resources against the CRDs vendored in deploy/crds/.

The API server validates a custom resource with its CRD's `openAPIV3Schema`, and in strict
mode (`kubectl apply --validate=strict`) also refuses fields the schema does not declare.
`jsonschema` gets the same behaviour once the Kubernetes extensions are translated:
objects with declared `properties` refuse other keys unless `x-kubernetes-preserve-unknown-fields`,
`x-kubernetes-int-or-string` accepts either type, `nullable` admits null. `metadata` (just
`type: object` in a CRD) is checked against the core ObjectMeta schema by kubernetes-validate.
Not evaluated: the CRDs' CEL rules (`x-kubernetes-validations`).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

CRDS = Path(__file__).resolve().parents[1] / "deploy" / "crds"
KUBERNETES_VERSION = "1.32.0"


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` as a JSON schema that refuses undeclared fields, recursively."""
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in out:
        out["properties"] = {k: strict(v) for k, v in out["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = strict(out["additionalProperties"])
    if "items" in out:
        out["items"] = strict(out["items"])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            out[key] = [strict(s) for s in schema[key]]
    return out


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict schema, for every served version of every vendored CRD."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version["served"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                found[(f"{group}/{version['name']}", kind)] = schema
    return found


def is_custom(resource: dict[str, Any]) -> bool:
    """Whether `resource` is of a kind a vendored CRD defines (same API group)."""
    group = str(resource.get("apiVersion", "")).rpartition("/")[0]
    return any(
        g.rpartition("/")[0] == group and k == resource.get("kind") for g, k in crd_schemas()
    )


def _where(error: jsonschema.ValidationError) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def errors(resource: dict[str, Any]) -> Iterator[str]:
    """One line per problem, `KafkaUser q2c-worker: .spec.x: Additional properties ...`."""
    kind, name = str(resource.get("kind")), resource.get("metadata", {}).get("name")
    api_version = str(resource.get("apiVersion"))
    schema = crd_schemas().get((api_version, kind))
    if schema is None:
        yield f"{kind} {name}: no vendored CRD serves {api_version}"
        return
    validator = jsonschema.Draft4Validator(schema)
    for error in sorted(validator.iter_errors(resource), key=lambda e: list(e.absolute_path)):
        yield f"{kind} {name}: {_where(error) or '.'}: {error.message}"
    # ObjectMeta, strictly, as the core resources' metadata is checked.
    probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": resource.get("metadata", {})}
    try:
        kubernetes_validate.validate(probe, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        yield f"{kind} {name}: .metadata: {exc.message}"


def validate(resource: dict[str, Any]) -> None:
    """Raise AssertionError listing every problem of `resource` against its CRD."""
    problems = list(errors(resource))
    assert not problems, "\n".join(problems)
