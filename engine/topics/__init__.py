"""The declarative topic catalog (topics/catalog.yaml): models, naming, planning and applying."""

from engine.topics.cluster import (
    TopicAdminError,
    TopicsRefusedError,
    apply_plan,
    current_plan,
    ensure_topics,
    observe,
    plan_cluster,
)
from engine.topics.loader import CatalogError, load_catalog
from engine.topics.models import Catalog, CleanupPolicy, TopicSpec
from engine.topics.naming import name
from engine.topics.planner import (
    ConfigAlteration,
    ConfigDrift,
    ObservedTopic,
    PartitionIncrease,
    Plan,
    Refusal,
    TopicCreation,
    plan_topics,
)

__all__ = [
    "Catalog",
    "CatalogError",
    "CleanupPolicy",
    "ConfigAlteration",
    "ConfigDrift",
    "ObservedTopic",
    "PartitionIncrease",
    "Plan",
    "Refusal",
    "TopicAdminError",
    "TopicCreation",
    "TopicSpec",
    "TopicsRefusedError",
    "apply_plan",
    "current_plan",
    "ensure_topics",
    "load_catalog",
    "name",
    "observe",
    "plan_cluster",
    "plan_topics",
]
