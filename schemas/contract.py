"""The vocabulary of the raw submission contract (shared/contracts/raw-submission.md).

Everything that the contract fixes as a closed list lives here once, so that the
readers, the pandera models, the expectation suites and the warehouse agree.
"""

from __future__ import annotations

import re

SLUG_PATTERN = r"[a-z0-9][a-z0-9-]*"
SLUG = re.compile(rf"^{SLUG_PATTERN}$")

ROUND_KINDS = ("baseline", "impact")
EVENT_TYPES = ("local_workshop", "national_workshop", "steering_group", "other")
ROLES = (
    "staff",
    "service_user",
    "carer",
    "voluntary_sector",
    "commissioner",
    "researcher",
    "other",
)
SOURCE_KINDS = ("minutes", "survey", "action_plan")
CATEGORIES = ("progress", "barrier", "solution")
ACTION_STATUSES = ("not_started", "in_progress", "achieved", "stalled", "dropped")
SOURCE_FILE_STATUSES = ("loaded", "quarantined", "superseded")
SEVERITIES = ("error", "warning")
# How much of a free-text respondent's description is published (small groups).
DISCLOSURES = (
    "as_answered",
    "ethnic_group_generalised",
    "age_band_widened",
    "age_band_left_out",
    "suppressed",
)

MINUTES_SUFFIXES = (".docx", ".md", ".txt")
SURVEY_SUFFIXES = (".csv", ".xlsx")
ACTION_PLAN_NAMES = ("action_plan.csv", "action_plan.xlsx")


def is_slug(value: object) -> bool:
    """Round and site ids are slugs; anything else breaks Dagster's multi-partition keys."""
    return isinstance(value, str) and bool(SLUG.match(value))


def role_slug(value: str) -> str | None:
    """Map a role as people write it (`Service user`, `service-user`) to its slug, or None."""
    slug = re.sub(r"[\s-]+", "_", value.strip().casefold())
    return slug if slug in ROLES else None
