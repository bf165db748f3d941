"""SAP S/4HANA: CloudEvents 1.0 business events as Event Mesh pushes them (structured mode):
EnterpriseProject Released, keyed by the project's UUID (what the SAP connector's
create-project reply names it)."""

from __future__ import annotations

from engine.contracts import Event, ProjectActivated
from engine.simulators.native.formats.base import NativePost, dumps, iso, stable_id
from engine.simulators.native.ids import IdMap

PLATFORM = "sap"
SOURCE = "/default/sap.s4.beh/Q2CDEMO001"
RELEASED = "sap.s4.beh.enterpriseproject.v1.EnterpriseProject.Released.v1"


class SapFormat:
    platform = PLATFORM

    def __init__(self, ids: IdMap) -> None:
        self.ids = ids

    def encode(self, event: Event) -> NativePost | None:
        if not isinstance(event, ProjectActivated):
            return None
        project = self.ids.platform(event.project_id)
        doc = {
            "type": RELEASED,
            "specversion": "1.0",
            "source": SOURCE,
            "id": stable_id(RELEASED, project, length=32),
            "time": iso(event.activated_at),
            "datacontenttype": "application/json",
            "data": {"ProjectUUID": project},
        }
        return NativePost(PLATFORM, PLATFORM, dumps(doc), "application/cloudevents+json")
