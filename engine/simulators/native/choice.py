"""`--platforms salesforce,netsuite,stripe`: which platform plays which role (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CRMS = ("salesforce", "dynamics")
ERPS = ("netsuite", "sap", "oracle", "certinia")
BILLINGS = ("stripe",)
ROLES = {"crm": CRMS, "erp": ERPS, "billing": BILLINGS}


@dataclass(frozen=True)
class PlatformChoice:
    """One CRM, one ERP/PSA and one billing platform, by name."""

    crm: str
    erp: str
    billing: str

    @classmethod
    def parse(cls, names: Iterable[str] | str) -> PlatformChoice:
        """From names in any order; ValueError (one line, naming the problem) otherwise."""
        given = names.split(",") if isinstance(names, str) else list(names)
        wanted = [n.strip().lower() for n in given if n.strip()]
        known = {p for ps in ROLES.values() for p in ps}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise ValueError(
                f"unknown platform {unknown[0]!r}; choose one CRM ({', '.join(CRMS)}), "
                f"one ERP/PSA ({', '.join(ERPS)}) and billing ({', '.join(BILLINGS)})"
            )
        chosen: dict[str, str] = {}
        for role, members in ROLES.items():
            picked = [n for n in dict.fromkeys(wanted) if n in members]
            if len(picked) != 1:
                what = "none" if not picked else f"{len(picked)} ({', '.join(picked)})"
                raise ValueError(
                    f"--platforms needs exactly one {role} platform, got {what}; "
                    f"the {role} platforms are {', '.join(members)}"
                )
            chosen[role] = picked[0]
        return cls(**chosen)

    @property
    def by_target(self) -> dict[str, str]:
        """Command target -> platform."""
        return {"crm": self.crm, "erp": self.erp, "billing": self.billing}

    def __str__(self) -> str:
        return ",".join((self.crm, self.erp, self.billing))
