"""Shared settings for hostile-input tests: modest, derandomized runs so CI is deterministic."""

from hypothesis import HealthCheck, settings

# derandomize: every run sends the same examples; no example database, no deadline (CI is slow).
HOSTILE = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def hostile(max_examples: int = 60):
    """The shared settings with a different number of examples."""
    return settings(HOSTILE, max_examples=max_examples)


# Apps of their own (rate limits off, own SQLite file) for the schemathesis runs.
from tests.api.conftest import make_app  # noqa: E402, F401
from tests.sms.conftest import dialogue_campaign, hotline_campaign, sms  # noqa: E402, F401
