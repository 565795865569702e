"""The SSRF guard: a delivery goes only to an address the workspace allows, decided on the one resolution it
connects with. Names resolve through a stubbed resolver; no test connects anywhere but 127.0.0.1 (and the
suite's loopback guard would fail one that tried)."""

from __future__ import annotations

import pytest

from metricstore.webhooks.outbox import queue_window
from metricstore.webhooks.sender import deliver_due
from tests.webhook_helpers import H10, SECRET, WS, HookWorld, calls
from tests.webhook_receiver import WebhookReceiver, status

pytest_plugins = ["tests.webhook_fixtures"]  # its fixtures


def _outcomes(world: HookWorld) -> list[tuple[str, str]]:
    return world.rows("SELECT outcome, error FROM ops.webhook_deliveries ORDER BY conversation_id")


NAMES = {
    "private.example": ["10.0.0.5"],
    "metadata.example": ["169.254.169.254"],  # link-local: the cloud metadata service
    "loopback6.example": ["::1"],
    "multicast.example": ["224.0.0.1"],
    "reserved.example": ["240.0.0.1"],
    "mixed.example": ["93.184.216.34", "192.168.1.20"],  # one public, one private: every address is checked
}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_names_that_resolve_to_private_link_local_or_reserved_addresses_are_refused(
    world: HookWorld, resolver: dict[str, list[str]], name: str
) -> None:
    resolver.update(NAMES)
    world.land("call_intelligence/a.jsonl", calls(2))
    catalog = world.configure(url=f"https://{name}/hook")
    queue_window(world.conn, catalog, H10)
    sent = deliver_due(world.conn, catalog)
    assert (sent.attempted, sent.refused, sent.delivered) == (2, 2, 0)
    for outcome, error in _outcomes(world):
        assert outcome == "refused" and error.startswith("refused by the SSRF guard")


@pytest.mark.parametrize("host", ["10.0.0.5", "169.254.169.254", "127.0.0.1", "[::1]", "192.168.0.1"])
def test_an_address_literal_that_is_not_public_is_refused_in_the_settings(world: HookWorld, host: str) -> None:
    from metricstore.catalog_loader import load_catalog

    (world.defs / "workspaces" / WS / "workspace.yaml").write_text(
        f"webhook:\n  url: https://{host}/hook\n  secret: whsec_{'A' * 40}\n"
    )
    catalog = load_catalog(world.defs)
    (error,) = catalog.refused[WS]
    assert error.field == "webhook.url"
    assert catalog.settings_for(WS).webhook is None


def test_a_receiver_on_this_machine_is_refused_when_the_workspace_does_not_allow_private_addresses(
    world: HookWorld, resolver: dict[str, list[str]]
) -> None:
    with WebhookReceiver(SECRET) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        resolver["receiver.test"] = ["127.0.0.1"]
        world.land("call_intelligence/a.jsonl", calls(2))
        # (the address itself, https://127.0.0.1:<port>/, is refused by the settings: see below)
        catalog = world.configure(url=f"https://receiver.test:{port}/hook")
        queue_window(world.conn, catalog, H10)
        assert deliver_due(world.conn, catalog).refused == 2
        assert receiver.received == []  # nothing reached it


def test_a_redirect_is_not_followed_even_to_an_allowed_host(world: HookWorld, resolver: dict[str, list[str]]) -> None:
    resolver["metadata.internal"] = ["169.254.169.254"]
    with WebhookReceiver(SECRET) as receiver:
        receiver.set_behaviour(status(302, {"Location": "http://metadata.internal/latest/meta-data/"}))
        world.land("call_intelligence/a.jsonl", calls(1))
        catalog = world.configure(url=receiver.url, allow_private_addresses=True)
        queue_window(world.conn, catalog, H10)
        sent = deliver_due(world.conn, catalog)
    assert (sent.attempted, sent.failed) == (1, 1)
    ((outcome, error),) = _outcomes(world)
    assert outcome == "failed" and "redirect to http://metadata.internal/latest/meta-data/ not followed" in error
    # and were it followed, the guard would refuse the target for a workspace that does not allow private ones
    catalog = world.configure(url="https://metadata.internal/latest/meta-data/")
    world.conn.execute("DELETE FROM ops.webhook_outbox; DELETE FROM ops.webhook_messages")
    queue_window(world.conn, catalog, H10)
    assert deliver_due(world.conn, catalog).refused == 1


def test_http_is_refused_in_settings_without_allow_private_addresses(world: HookWorld) -> None:
    (world.defs / "workspaces" / WS / "workspace.yaml").write_text(
        "webhook:\n  url: http://hooks.example.com/x\n  secret: whsec_" + "A" * 40 + "\n"
    )
    from metricstore.catalog_loader import load_catalog

    catalog = load_catalog(world.defs)
    (error,) = catalog.refused[WS]
    assert error.field == "webhook.url" and "https" in error.message
    assert catalog.settings_for(WS).webhook is None
