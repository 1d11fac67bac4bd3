"""Home Assistant's own MQTT connection as the transport of evcc's MQTT API (no second client).

`async_start_mqtt_api` starts `MqttApi` for a site once Home Assistant's MQTT client is there;
when the MQTT integration is not set up it says so once in the log and does nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant, callback

from ..const import LOGGER
from .backend import Backend
from .mqtt import MessageCallback, MqttApi

__all__ = ["HaMqttTransport", "async_start_mqtt_api", "mqtt_configured"]


def mqtt_configured(hass: HomeAssistant) -> bool:
    """Whether Home Assistant has an MQTT broker configured (enabled MQTT entry)."""
    return bool(hass.config_entries.async_entries("mqtt", include_disabled=False))


class HaMqttTransport:
    """Publishes and subscribes through `homeassistant.components.mqtt` (QoS 1)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass

    async def publish(self, topic: str, payload: str, *, retain: bool) -> None:
        from homeassistant.components import mqtt

        await mqtt.async_publish(self.hass, topic, payload, qos=1, retain=retain)

    async def subscribe(self, topic: str, callback_: MessageCallback) -> Callable[[], None]:
        from homeassistant.components import mqtt

        @callback
        def received(message: Any) -> None:
            payload = message.payload
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
            callback_(message.topic, str(text), bool(message.retain))

        return await mqtt.async_subscribe(self.hass, topic, received, qos=1)

    def on_connection(self, callback_: Callable[[bool], None]) -> Callable[[], None]:
        from homeassistant.components import mqtt

        @callback
        def changed(connected: bool) -> None:  # in the event loop (a plain function would not be)
            callback_(connected)

        return mqtt.async_subscribe_connection_status(self.hass, changed)


async def async_start_mqtt_api(
    hass: HomeAssistant,
    backend: Backend,
    root: str,
    *,
    read_only: bool,
    site: str,
    started: Callable[[MqttApi], None] = lambda _api: None,
) -> MqttApi | None:
    """Wait for Home Assistant's MQTT client, then start evcc's MQTT API under `root`.
    `started(api)` is told the API before it subscribes anything (so a stop during the start
    finds it)."""
    from homeassistant.components import mqtt

    if not mqtt_configured(hass):
        LOGGER.info(
            "MQTT API of %s not started: Home Assistant's MQTT integration is not set up", site
        )
        return None
    if not await mqtt.async_wait_for_mqtt_client(hass):
        LOGGER.warning("MQTT API of %s not started: the MQTT client is not available", site)
        return None
    api = MqttApi(backend, HaMqttTransport(hass), root, read_only=read_only)
    started(api)
    await api.async_start()
    return api
