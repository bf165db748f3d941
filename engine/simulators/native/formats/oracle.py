"""Oracle Fusion: the PPM business events an Oracle Integration flow forwards (XML): Project
Status Changes to ACTIVE and Project Milestone Completion, element names as the shipped
mapping reads them (to verify against the events' XSD: see the mapping's header)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from engine.contracts import Event, MilestoneCompleted, ProjectActivated
from engine.simulators.native.formats.base import NativePost, stable_id
from engine.simulators.native.ids import IdMap

PLATFORM = "oracle"
NAMESPACE = "http://xmlns.oracle.com/apps/projects/foundation/projectDefinition/publicModel/"


class OracleFormat:
    platform = PLATFORM

    def __init__(self, ids: IdMap) -> None:
        self.ids = ids

    def encode(self, event: Event) -> NativePost | None:
        if isinstance(event, ProjectActivated):
            project = self.ids.platform(event.project_id)
            at = event.activated_at.isoformat(timespec="milliseconds")
            status = '<ProjectStatusCode><oldValue value="DRAFT"/><newValue value="ACTIVE"/>'
            body = _document(
                "ProjectStatusEventInfo",
                project,
                f"{status}</ProjectStatusCode>",
                _element("LastUpdateDate", at),
            )
            return self._post(body, stable_id("status", project, at), at)
        if isinstance(event, MilestoneCompleted):
            project = self.ids.platform(event.project_id)
            at = event.completed_at.isoformat(timespec="milliseconds")
            body = _document(
                "ProjectMilestoneCompletionEventInfo",
                project,
                _element("MilestoneNumber", event.milestone_id),
                _element("CompletionDate", at),
            )
            return self._post(body, stable_id("milestone", project, event.milestone_id), at)
        return None

    @staticmethod
    def _post(body: str, event_id: str, at: str) -> NativePost:
        document = '<?xml version="1.0" encoding="UTF-8"?>' + body
        headers = {"x-oic-event-id": f"oic-{event_id}", "x-oic-event-time": at}
        return NativePost(PLATFORM, PLATFORM, document.encode(), "application/xml", headers)


def _element(name: str, text: str) -> str:
    return f"<{name}>{escape(text)}</{name}>"


def _document(root: str, project: str, *elements: str) -> str:
    """The event's `root` element in the PPM namespace: its ProjectId, then `elements`."""
    inner = _element("ProjectId", project) + "".join(elements)
    return f'<{root} xmlns="{NAMESPACE}">{inner}</{root}>'
