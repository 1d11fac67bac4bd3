"""Prepare the .storage of a development Home Assistant config folder (used by scripts/develop).

Idempotent. Makes sure that
- onboarding is finished, so no wizard blocks the UI,
- an owner account exists (user name and password from the command line),
- a long-lived access token for that owner is stored in <config>/.dev_token,
- the demo site config entry of evcc_ha exists (simulated devices, evcc API on 127.0.0.1:7070),
- with --mqtt-port, Home Assistant's MQTT integration points at the local broker.

Home Assistant must not be running on the folder while this runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import jwt
from homeassistant import runner
from homeassistant.auth import auth_manager_from_config
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.auth.providers import homeassistant as hass_auth
from homeassistant.components.onboarding import const as onboarding
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryStore
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.storage import Store

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from custom_components.evcc_ha.config_flow import EvccConfigFlow  # noqa: E402
from custom_components.evcc_ha.const import (  # noqa: E402
    CONF_API_ENABLED,
    CONF_API_HOST,
    CONF_API_PORT,
    CONF_API_READ_ONLY,
    CONF_DEMO,
    CONF_DEMO_HISTORY_DAYS,
    CONF_SITE_TITLE,
    DEFAULT_API_PORT,
    DOMAIN,
)
from custom_components.evcc_ha.devices.demo_history import DEMO_HISTORY_DAYS  # noqa: E402

# Matches homeassistant.components.onboarding (STORAGE_KEY "onboarding", version 4).
ONBOARDING_STORAGE_VERSION = 4
TOKEN_CLIENT_NAME = "scripts/develop"


async def ensure_onboarded(hass: HomeAssistant) -> None:
    store: Store[dict[str, list[str]]] = Store(
        hass, ONBOARDING_STORAGE_VERSION, onboarding.DOMAIN, private=True
    )
    data = await store.async_load() or {"done": []}
    if set(data["done"]) >= set(onboarding.STEPS):
        return
    data["done"] = list(onboarding.STEPS)
    await store.async_save(data)
    print("develop: onboarding marked as done")


async def ensure_owner_and_token(
    hass: HomeAssistant, username: str, password: str, token_file: Path
) -> None:
    provider = hass.auth.auth_providers[0]
    assert isinstance(provider, hass_auth.HassAuthProvider)
    await provider.async_initialize()
    assert provider.data is not None

    credentials = await provider.async_get_or_create_credentials({"username": username})
    user = (
        None if credentials.is_new else await hass.auth.async_get_user_by_credentials(credentials)
    )
    if user is None:
        if any(u["username"] == username for u in provider.data.users):
            provider.data.change_password(username, password)
        else:
            provider.data.add_auth(username, password)
        await provider.data.async_save()
        # The first user that is not system-generated becomes the owner.
        user = await hass.auth.async_create_user(username, group_ids=[GROUP_ID_ADMIN])
        await hass.auth.async_link_user(user, credentials)
        print(f"develop: created user {username!r} (owner: {user.is_owner})")

    if token_file.exists():
        try:
            claims = jwt.decode(token_file.read_text().strip(), options={"verify_signature": False})
        except jwt.PyJWTError:
            claims = {}
        if hass.auth.async_get_refresh_token(claims.get("iss", "")) is not None:
            return
    for refresh_token in list(user.refresh_tokens.values()):
        if refresh_token.client_name == TOKEN_CLIENT_NAME:
            hass.auth.async_remove_refresh_token(refresh_token)
    refresh_token = await hass.auth.async_create_refresh_token(
        user,
        client_name=TOKEN_CLIENT_NAME,
        token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN,
        access_token_expiration=timedelta(days=3650),
    )
    token_file.write_text(hass.auth.async_create_access_token(refresh_token) + "\n")
    token_file.chmod(0o600)
    print(f"develop: wrote a long-lived access token to {token_file}")


# The demo site: simulated devices, and the evcc API on its own port (loopback only).
DEMO_DATA = {CONF_DEMO: True, CONF_DEMO_HISTORY_DAYS: DEMO_HISTORY_DAYS}
DEMO_OPTIONS = {
    CONF_API_ENABLED: True,
    CONF_API_HOST: "127.0.0.1",
    CONF_API_PORT: DEFAULT_API_PORT,
    CONF_API_READ_ONLY: False,
}


async def ensure_site_entry(hass: HomeAssistant, title: str, unique_id: str) -> None:
    store = ConfigEntryStore(hass)
    data = await store.async_load() or {"entries": []}
    for existing in data["entries"]:
        if existing["domain"] == DOMAIN and existing.get("unique_id") == unique_id:
            # an entry from an older run: make sure it is the demo site with the API port
            if existing["data"].get(CONF_DEMO) is True and all(
                existing["options"].get(k) == v for k, v in DEMO_OPTIONS.items()
            ):
                return
            existing["data"] = {**existing["data"], **DEMO_DATA}
            existing["options"] = {**existing["options"], **DEMO_OPTIONS}
            await store.async_save(data)
            print(f"develop: made config entry {existing['title']!r} the demo site")
            return
    entry = ConfigEntry(
        data={CONF_SITE_TITLE: title, **DEMO_DATA},
        discovery_keys={},  # type: ignore[arg-type]
        domain=DOMAIN,
        minor_version=EvccConfigFlow.MINOR_VERSION,
        options=dict(DEMO_OPTIONS),
        source=SOURCE_USER,
        subentries_data=None,
        title=title,
        unique_id=unique_id,
        version=EvccConfigFlow.VERSION,
    )
    data["entries"].append(entry.as_dict())
    await store.async_save(data)
    print(f"develop: created config entry {title!r} ({DOMAIN}, unique id {unique_id})")


async def ensure_mqtt_entry(hass: HomeAssistant, port: int) -> None:
    """Home Assistant's MQTT integration on the local broker (an existing entry is kept)."""
    store = ConfigEntryStore(hass)
    data = await store.async_load() or {"entries": []}
    if any(existing["domain"] == "mqtt" for existing in data["entries"]):
        return
    entry = ConfigEntry(
        data={"broker": "127.0.0.1", "port": port},
        discovery_keys={},  # type: ignore[arg-type]
        domain="mqtt",
        minor_version=2,
        options={"discovery": True},
        source=SOURCE_USER,
        subentries_data=None,
        title="127.0.0.1",
        unique_id=None,
        version=1,
    )
    data["entries"].append(entry.as_dict())
    await store.async_save(data)
    print(f"develop: created the MQTT config entry for 127.0.0.1:{port}")


async def main(args: argparse.Namespace) -> None:
    config_dir = Path(args.config).resolve()
    hass = HomeAssistant(str(config_dir))
    await asyncio.gather(dr.async_load(hass), er.async_load(hass))
    hass.auth = await auth_manager_from_config(hass, [{"type": "homeassistant"}], [])
    await ensure_onboarded(hass)
    await ensure_owner_and_token(hass, args.user, args.password, config_dir / ".dev_token")
    await ensure_site_entry(hass, args.site_title, args.site_unique_id)
    if args.mqtt_port:
        await ensure_mqtt_entry(hass, args.mqtt_port)
    # The auth store saves with a delay; only the final-write stage of a stop flushes it, and
    # async_stop skips all stages on an instance that was never started unless forced.
    await hass.async_stop(force=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--user", default="dev")
    parser.add_argument("--password", default="dev")
    parser.add_argument("--site-title", default="Demo site")
    parser.add_argument("--site-unique-id", default="demo_site")
    parser.add_argument("--mqtt-port", type=int, default=0)
    asyncio.set_event_loop_policy(runner.HassEventLoopPolicy(False))
    asyncio.run(main(parser.parse_args()))
