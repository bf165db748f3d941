"""Static reference data the simulated world is built from: legal entities, roles, currencies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class LegalEntitySpec:
    """A selling legal entity of the simulated company."""

    legal_entity_id: str
    name: str
    country: str
    currencies: tuple[str, ...]
    active: bool = True


LEGAL_ENTITIES: tuple[LegalEntitySpec, ...] = (
    LegalEntitySpec("LE-US-01", "Northwind Consulting Inc.", "US", ("USD",)),
    LegalEntitySpec("LE-GB-01", "Northwind Consulting Ltd", "GB", ("GBP", "EUR")),
    LegalEntitySpec("LE-DE-01", "Northwind Beratung GmbH", "DE", ("EUR", "CHF")),
    LegalEntitySpec("LE-FR-01", "Northwind Conseil SAS", "FR", ("EUR",)),
    LegalEntitySpec("LE-CA-01", "Northwind Consulting Canada Inc.", "CA", ("CAD", "USD")),
    LegalEntitySpec("LE-JP-01", "Northwind Japan KK", "JP", ("JPY",)),
    LegalEntitySpec("LE-SE-01", "Northwind Nordic AB", "SE", ("SEK", "EUR", "NOK", "DKK")),
    # Dormant since a reorganisation: deals still booked against it must fail validation.
    LegalEntitySpec("LE-NL-09", "Northwind Benelux BV (dormant)", "NL", ("EUR",), active=False),
)

ACTIVE_ENTITIES: tuple[LegalEntitySpec, ...] = tuple(e for e in LEGAL_ENTITIES if e.active)
INACTIVE_ENTITIES: tuple[LegalEntitySpec, ...] = tuple(e for e in LEGAL_ENTITIES if not e.active)

# Rough units of each currency per US dollar, so amounts look plausible in every currency.
CURRENCY_FACTORS: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "CHF": Decimal("0.88"),
    "CAD": Decimal("1.36"),
    "JPY": Decimal("150"),
    "SEK": Decimal("10.5"),
    "NOK": Decimal("10.7"),
    "DKK": Decimal("6.9"),
}
ALL_CURRENCIES: tuple[str, ...] = tuple(CURRENCY_FACTORS)
# Currencies without minor units: amounts are whole numbers.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})

# Role -> hourly rate in USD.
ROLES: tuple[tuple[str, Decimal], ...] = (
    ("Consultant", Decimal("150")),
    ("Senior Consultant", Decimal("210")),
    ("Solution Architect", Decimal("260")),
    ("Project Manager", Decimal("180")),
    ("Developer", Decimal("140")),
)

MILESTONE_NAMES: tuple[str, ...] = (
    "Discovery and kick-off",
    "Design sign-off",
    "Build complete",
    "User acceptance",
    "Go-live",
)

EXPENSE_CATEGORIES: tuple[str, ...] = ("travel", "lodging", "meals", "software")

CUSTOMER_STEMS: tuple[str, ...] = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Aperture",
    "Oscorp",
    "Stark",
    "Wayne",
    "Nakatomi",
    "Gringotts",
)
CUSTOMER_SUFFIXES: tuple[str, ...] = (
    "Holdings",
    "Group",
    "Industries",
    "Labs",
    "Logistics",
    "Retail",
    "Energy",
    "Health",
)

CONSULTANT_NAMES: tuple[str, ...] = (
    "Ada Byron",
    "Alan Turing",
    "Grace Hopper",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Ken Thompson",
    "Margaret Hamilton",
    "Donald Knuth",
    "Frances Allen",
    "John Backus",
)
