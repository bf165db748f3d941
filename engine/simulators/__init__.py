"""Simulated platforms behaving like the real CRM, ERP/PSA and billing systems q2c drives.

- `generate_deals` (deals.py): seeded, realistic won deals plus their master data, a fraction
  of them with bad master data; `seed_master_data` publishes the master data.
- `Platforms` (platforms.py): the CRM, ERP and billing simulators consuming their command
  topics and publishing events through `engine.publisher.Publisher`, with per-platform
  `FaultConfig` (latency, transient errors, an outage window); each is an adapter on
  `engine.adapters.CommandRunner`.
- `SimClock` (clock.py): simulated time shared by the platforms and the engine.

A `correlate_fraction` of the events the platforms publish carry the deal id as correlation
id; the rest carry only the platform's own ids (project id, invoice id and the echoed
invoice reference), which the engine must resolve through its correlation index.
"""

from engine.simulators.billing import BillingBehaviour, BillingConfig
from engine.simulators.clock import SimClock
from engine.simulators.crm import CrmBehaviour
from engine.simulators.deals import DealBook, DealConfig, Flaw, GeneratedDeal, generate_deals
from engine.simulators.erp import ErpBehaviour, ErpConfig
from engine.simulators.faults import NO_FAULTS, FaultConfig, FaultSchedule
from engine.simulators.platforms import Platforms, PlatformsSnapshot, SimConfig
from engine.simulators.seed import seed_master_data

__all__ = [
    "NO_FAULTS",
    "BillingBehaviour",
    "BillingConfig",
    "CrmBehaviour",
    "DealBook",
    "DealConfig",
    "ErpBehaviour",
    "ErpConfig",
    "FaultConfig",
    "FaultSchedule",
    "Flaw",
    "GeneratedDeal",
    "Platforms",
    "PlatformsSnapshot",
    "SimClock",
    "SimConfig",
    "generate_deals",
    "seed_master_data",
]
