"""Property tests of the HTTP API from the OpenAPI document it serves (schemathesis): with a valid admin key and
a small published warehouse, no generated request gets a 500 or a response that breaks the documented schema
(the one error shape included)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis.openapi import from_asgi

from metricstore.api.app import create_app
from metricstore.api.keys import KeyStore
from metricstore.config import Settings
from tests.api_helpers import WS, bearer, write_defs

pytest_plugins = ["tests.api_fixtures"]  # its fixtures

# The schema is loaded when the module is imported (schemathesis' fixture-based loader does not run on pytest 9):
# the app is built over paths that the `api_key` fixture fills before the first request.
# Only named here (importing the module creates nothing); the fixture creates the folder and removes it.
ROOT = Path(tempfile.gettempdir()) / f"metricstore-api-schema-{uuid.uuid4().hex}"
SETTINGS = Settings(
    warehouse=ROOT / "warehouse.duckdb",
    landing=ROOT / "landing",
    metric_defs=ROOT / "defs",
    published=ROOT / "published" / "warehouse.duckdb",
    api_keys=ROOT / "api_keys.sqlite",
)
CONFIG = schemathesis.Config.from_dict(
    {
        "parameters": {"ws": WS},  # the key's workspace: requests reach the routes, not only the 403
        # the key is the fixture's, sent with every case: a generated (or mutated) Authorization header would be
        # replaced by it, and a "schema-violating" header then looks accepted
        "generation": {
            "max-examples": 20,
            "deterministic": True,
            "database": "none",
            "with-security-parameters": False,
        },
        "checks": {
            # Schema-valid is not always valid: definitions are checked as the loader checks them (422), and a
            # generated If-Match names no version (412).
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "412", "422"]},
        },
    }
)
schema = from_asgi("/openapi.json", create_app(SETTINGS), config=CONFIG)


@pytest.fixture(scope="module")
def api_key(published_warehouse: Path) -> Iterator[dict[str, str]]:
    write_defs(SETTINGS.metric_defs)
    SETTINGS.published.parent.mkdir(parents=True)
    shutil.copy(published_warehouse, SETTINGS.published)
    yield bearer(KeyStore(SETTINGS.api_keys).create(WS, "admin").key)
    shutil.rmtree(ROOT)


@schema.parametrize()
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case, api_key: dict[str, str]) -> None:
    case.call_and_validate(headers=api_key)
