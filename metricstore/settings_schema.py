"""A workspace's settings file, ``workspaces/<ws>/workspace.yaml`` (CONTRACT §7): the pydantic models and every
rule on its fields, the post-call webhook's URL and signing secret among them. Reading and changing the file live
in :mod:`metricstore.catalog_loader` and :mod:`metricstore.workspace_settings`."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)  # the Standard Webhooks range of a secret's decoded length
MAX_URL_LENGTH = 2048
# The shapes the validators below check (also in the JSON Schema): an http(s) URL without spaces, credentials or
# fragment, and whsec_ with base64. The validators say which part is wrong.
URL_PATTERN = r"^https?://[^\s/?#@]+(?:[/?][^\s#]*)?$"
SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/]+={0,2}$"


def _webhook_url(url: str) -> str:
    """A webhook URL as the sender can use it: http(s) with a host, nothing that would leak or be dropped."""
    if not url.startswith(("https://", "http://")):
        raise PydanticCustomError("url_scheme", "the URL must start with https:// (or http:// for a local receiver)")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise PydanticCustomError("url_characters", "the URL may not contain spaces or control characters")
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise PydanticCustomError(
            "url_credentials", "put no user or password in the URL: receivers verify the signature instead"
        )
    if not parts.hostname:
        raise PydanticCustomError("url_host", "the URL has no host")
    try:
        port = parts.port  # raises on a port that is not a number in 0-65535
    except ValueError:
        port = 0
    if port == 0:
        raise PydanticCustomError("url_port", "the URL's port is not a number from 1 to 65535")
    if "#" in url:
        raise PydanticCustomError("url_fragment", "the URL may not have a #fragment (it is never sent)")
    if not re.fullmatch(URL_PATTERN, url):
        raise PydanticCustomError("url", "not a URL like https://hooks.example.com/metrics")
    return url


def _webhook_secret(secret: str) -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 24 to 64 random bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise PydanticCustomError("secret_prefix", "the secret must start with whsec_ (`metricstore webhooks secret`)")
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        if not re.fullmatch(SECRET_PATTERN, secret):
            raise binascii.Error("not base64")  # padding is optional, as the standardwebhooks library reads it
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise PydanticCustomError(
            "secret_base64", "after whsec_ the secret must be base64 (`metricstore webhooks secret` makes one)"
        ) from None
    low, high = SECRET_BYTES
    if not low <= len(key) <= high:
        raise PydanticCustomError(
            "secret_length",
            "the secret decodes to {size} bytes; it must be {low} to {high} (`metricstore webhooks secret` makes 32)",
            {"size": len(key), "low": low, "high": high},
        )
    return secret


# A Standard Webhooks secret, checked (also alone: ``TypeAdapter(WebhookSecret)``, as ``webhooks listen`` does).
WebhookSecret = Annotated[str, AfterValidator(_webhook_secret)]


def _private_host(host: str) -> bool:
    """A host that is this machine or a private network by its name alone (names are resolved when sending)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global


class WebhookSettings(BaseModel):
    """The ``webhook:`` block of ``workspaces/<ws>/workspace.yaml``: where the workspace's post-call webhook goes
    and the secret it is signed with (Standard Webhooks)."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, AfterValidator(_webhook_url)] = Field(
        max_length=MAX_URL_LENGTH,
        description="The receiver's URL: https://, with a host, no user or password and no #fragment. http:// "
        "only together with `allow_private_addresses: true` (a receiver on this machine).",
        json_schema_extra={"pattern": URL_PATTERN},
        examples=["https://hooks.example.com/metrics"],
    )
    secret: WebhookSecret = Field(
        repr=False,  # never in logs or tracebacks
        description="The Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 random bytes "
        "(`metricstore webhooks secret` makes one). Receivers verify each delivery with it.",
        json_schema_extra={"pattern": SECRET_PATTERN},
    )
    enabled: bool = Field(
        default=True, strict=True, description="Whether deliveries are sent; false keeps the settings and sends none."
    )
    allow_private_addresses: bool = Field(
        default=False,
        strict=True,
        description="Allow a URL that is or resolves to a loopback, private or link-local address, and http:// "
        "(for a receiver on this machine, e.g. `metricstore webhooks listen`). Off, such URLs are refused.",
    )

    @model_validator(mode="after")
    def _check_private(self) -> WebhookSettings:
        if self.allow_private_addresses:
            return self
        if self.url.startswith("http://"):
            problem = "http is allowed only with allow_private_addresses: true (a receiver on this machine); use https"
        elif _private_host(urlsplit(self.url).hostname or ""):
            problem = "the host is this machine or a private address: allowed only with allow_private_addresses: true"
        else:
            return self
        # Raised with its location so that the error names `url` (also nested: `webhook.url`, `body.webhook.url`).
        error = InitErrorDetails(type=PydanticCustomError("url_private", problem), loc=("url",), input=self.url)
        raise ValidationError.from_exception_data(type(self).__name__, [error])


class WorkspaceSettings(BaseModel):
    """``workspaces/<ws>/workspace.yaml``: the workspace's settings (not a definition file)."""

    model_config = ConfigDict(extra="forbid")
    default_metrics_enabled: bool = Field(
        default=True, description="Whether the default post-call metrics (built-ins) are computed for the workspace."
    )
    webhook: WebhookSettings | None = Field(default=None, description="The post-call webhook; none when absent.")
    ai_cadence: Literal["hourly", "on_arrival"] = Field(
        default="hourly",
        description="When AI metrics are evaluated: `hourly`, by the hourly run (its webhooks after it); "
        "`on_arrival`, also in the runs that landing files start, for conversations whose snapshot says the call "
        "ended (their webhooks as soon as every metric is in), within a budget of 500 evaluations per metric per "
        "hour partition, shared with that hour's hourly run.",
    )
