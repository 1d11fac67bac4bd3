"""Constants shared by the Home Assistant side of evcc_ha."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "evcc_ha"
LOGGER: Final = logging.getLogger(__package__)

# Config entry data keys.
CONF_SITE_TITLE: Final = "site_title"

# Defaults offered by the config flow.
DEFAULT_SITE_TITLE: Final = "Home"

# Longest site title the config flow accepts.
MAX_SITE_TITLE_LENGTH: Final = 64

# Demo site: simulated meters, charger and car (entry data).
CONF_DEMO: Final = "demo"
CONF_DEMO_HISTORY_DAYS: Final = "demo_history_days"  # a new demo site has lived these days

# Site options (options flow): control interval and meters (Home Assistant entities).
CONF_INTERVAL: Final = "interval"
DEFAULT_INTERVAL: Final = 30  # s, like evcc
MIN_INTERVAL: Final = 5
MAX_INTERVAL: Final = 60
CONF_GRID_POWER: Final = "grid_power"  # sensor, W or kW
CONF_GRID_ENERGY: Final = "grid_energy"  # sensor, kWh/Wh import total (optional)
CONF_GRID_INVERT: Final = "grid_invert"  # True: the sensor reports export as positive
CONF_PV_POWER: Final = "pv_power"  # list of sensors
CONF_BATTERY_POWER: Final = "battery_power"  # sensor
CONF_BATTERY_SOC: Final = "battery_soc"  # sensor, %
CONF_BATTERY_INVERT: Final = "battery_invert"  # True: the sensor reports charging as positive
CONF_BATTERY_CAPACITY: Final = "battery_capacity"  # kWh (optional)
# battery control (optional): a select (with the option of each mode) or a switch (on = hold)
CONF_BATTERY_MODE_ENTITY: Final = "battery_mode_entity"
CONF_BATTERY_MODE_NORMAL: Final = "battery_mode_normal"
CONF_BATTERY_MODE_HOLD: Final = "battery_mode_hold"
CONF_BATTERY_MODE_CHARGE: Final = "battery_mode_charge"
# evcc-compatible API port (options flow).
CONF_API_ENABLED: Final = "api_enabled"
CONF_API_HOST: Final = "api_host"
CONF_API_PORT: Final = "api_port"
CONF_API_READ_ONLY: Final = "api_read_only"
CONF_API_ALLOWED_ORIGINS: Final = "api_allowed_origins"  # web pages that may write
# evcc's MQTT API on Home Assistant's MQTT connection (options flow).
CONF_MQTT_ENABLED: Final = "mqtt_enabled"  # missing: on when Home Assistant has MQTT
CONF_MQTT_TOPIC: Final = "mqtt_topic"
CONF_MQTT_READ_ONLY: Final = "mqtt_read_only"
DEFAULT_MQTT_TOPIC: Final = "evcc"
# Tariffs (options flow): grid price fixed, by zones or from a price entity; feed-in fixed or
# a sensor. Prices in the site's currency per kWh.
CONF_GRID_PRICE: Final = "grid_price"  # fixed price (and the price outside every zone)
CONF_GRID_ZONES: Final = "grid_zones"  # time-of-use zones, one per line (core.tariff)
CONF_GRID_PRICE_ENTITY: Final = "grid_price_entity"  # an entity with today's/tomorrow's prices
CONF_FEEDIN_PRICE: Final = "feedin_price"
CONF_FEEDIN_PRICE_ENTITY: Final = "feedin_price_entity"  # a sensor with the feed-in price
CONF_SOLAR_FORECAST: Final = "solar_forecast"  # entities of forecast integrations (optional)
CONF_CO2_ENTITY: Final = "co2_entity"  # a sensor of the grid's CO₂ intensity, g/kWh (optional)
DEFAULT_API_HOST: Final = "0.0.0.0"
DEFAULT_API_PORT: Final = 7070

# Loadpoint subentries (config subentry type) and their data keys.
SUBENTRY_LOADPOINT: Final = "loadpoint"
CONF_TITLE: Final = "title"
CONF_CHARGER_KIND: Final = "charger_kind"  # how the charger is reached (missing: entities)
CHARGER_KIND_ENTITIES: Final = "entities"  # Home Assistant entities of another integration
CHARGER_KIND_MODBUS: Final = "modbus"  # a Modbus TCP charger (devices/modbus, `modbus_kind`)
# Modbus meters of a site (config subentry type; data: devices/modbus/const.py keys).
SUBENTRY_MODBUS_METER: Final = "modbus_meter"
CONF_CHARGER_ENABLE: Final = "charger_enable"  # switch entity
CONF_CHARGER_CURRENT: Final = "charger_current"  # number entity, A
CONF_CHARGER_POWER: Final = "charger_power"  # sensor, W or kW (optional)
CONF_CHARGER_ENERGY: Final = "charger_energy"  # sensor, kWh/Wh total (optional)
CONF_CHARGER_STATUS: Final = "charger_status"  # binary_sensor (plugged) or sensor (A/B/C, enum)
CONF_CHARGER_CHARGING: Final = "charger_charging"  # binary_sensor charging (optional)
CONF_CHARGER_PHASES: Final = "charger_phases"  # select/switch for 1p/3p (optional)
CONF_CHARGER_MAX_CURRENT: Final = "charger_max_current"  # A, hardware limit
CONF_CHARGER_PHASE_COUNT: Final = "charger_phase_count"  # 1 or 3 connected phases
CONF_CHARGE_METER_POWER: Final = "charge_meter_power"  # separate charge meter (optional)
CONF_VEHICLE_TITLE: Final = "vehicle_title"
CONF_VEHICLE_CAPACITY: Final = "vehicle_capacity"  # kWh
CONF_VEHICLE_PHASES: Final = "vehicle_phases"
CONF_VEHICLE_SOC: Final = "vehicle_soc"  # sensor, % (optional)
# what the car's integration tells besides the SoC (optional)
CONF_VEHICLE_RANGE: Final = "vehicle_range"
CONF_VEHICLE_ODOMETER: Final = "vehicle_odometer"
CONF_VEHICLE_LIMIT: Final = "vehicle_limit_soc"
CONF_VEHICLE_CLIMATER: Final = "vehicle_climater"
CONF_VEHICLE_CONNECTED: Final = "vehicle_connected"  # binary_sensor on = plugged in (detection)
# evcc's welcomecharge feature: offer the minimum current right after the car connects
CONF_VEHICLE_WELCOME_CHARGE: Final = "vehicle_welcome_charge"
# Vehicles that no loadpoint has as its own (config subentry type; data: the CONF_VEHICLE_ keys,
# the title is the subentry's).
SUBENTRY_VEHICLE: Final = "vehicle"

# Added for the setup flows and the Home Assistant entity adapters.
CONF_CHARGER_PHASES_ON_1P: Final = "charger_phases_on_1p"  # phase switch: on = 1 phase
# the control profile a new loadpoint starts with (core.model.ControlProfile)
CONF_CONTROL_PROFILE: Final = "control_profile"
MIN_CHARGE_CURRENT: Final = 6.0  # A, the lowest current IEC 61851 allows
MAX_HARDWARE_CURRENT: Final = 80.0  # A, highest hardware limit the flow accepts
DEFAULT_CHARGER_MAX_CURRENT: Final = 16.0  # A (11 kW at 3 phases)
DEFAULT_CHARGER_PHASE_COUNT: Final = 3
DEFAULT_VEHICLE_CAPACITY: Final = 50.0  # kWh
DEFAULT_VEHICLE_PHASES: Final = 3
MAX_VEHICLE_CAPACITY: Final = 300.0  # kWh
MAX_BATTERY_CAPACITY: Final = 1000.0  # kWh
MIN_API_PORT: Final = 1
MAX_API_PORT: Final = 65535

# Storage of settings and sessions across restarts (1.2: telemetry inside the site settings).
STORAGE_VERSION: Final = 1
STORAGE_MINOR_VERSION: Final = 2

# Load management (evcc's circuits; config subentry type, the title is the subentry's). Parent
# and loadpoints are stored as subentry ids, so renaming one keeps the links.
SUBENTRY_CIRCUIT: Final = "circuit"
CONF_CIRCUIT_TITLE: Final = "circuit_title"
CONF_CIRCUIT_MAX_CURRENT: Final = "circuit_max_current"  # A per phase
CONF_CIRCUIT_MAX_POWER: Final = "circuit_max_power"  # W
CONF_CIRCUIT_PARENT: Final = "circuit_parent"  # subentry id of the enclosing circuit
CONF_CIRCUIT_LOADPOINTS: Final = "circuit_loadpoints"  # subentry ids of its loadpoints
CONF_CIRCUIT_METER: Final = "circuit_meter"  # power sensor of the circuit's load (optional)
# the site's grid meter (a sensor or a Modbus meter) is the circuit's meter: the house connection
CONF_CIRCUIT_GRID_METER: Final = "circuit_grid_meter"
CONF_CIRCUIT_CURRENTS: Final = "circuit_currents"  # its three phase current sensors (optional)
CONF_CIRCUIT_LIMIT: Final = "circuit_limit"  # power entity: the maximum allowed now (optional)
