"""Config flow for evcc_ha: one config entry per site, keyed by the site title."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.helpers.selector import TextSelector
from homeassistant.util import slugify

from .const import CONF_SITE_TITLE, DEFAULT_SITE_TITLE, DOMAIN, MAX_SITE_TITLE_LENGTH


def clean_site_title(raw: str) -> str | None:
    """Return the title without surrounding blanks, or None when it cannot name a site."""
    title = raw.strip()
    if not title or len(title) > MAX_SITE_TITLE_LENGTH or not any(c.isalnum() for c in title):
        return None
    return title


def site_unique_id(title: str) -> str:
    """Derive the config entry unique id of a site from its title."""
    return slugify(title)


def _title_schema(default: str | None) -> vol.Schema:
    key = (
        vol.Required(CONF_SITE_TITLE)
        if default is None
        else vol.Required(CONF_SITE_TITLE, default=default)
    )
    return vol.Schema({key: TextSelector()})


class EvccConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create and reconfigure evcc_ha site entries."""

    VERSION = 1
    MINOR_VERSION = 1

    def _site_in_use(self, unique_id: str, *, ignore_entry_id: str | None = None) -> bool:
        """Tell whether another entry already stands for this site.

        An entry keeps its unique id when its title is changed by reconfiguration, so
        both the unique id and the slug of the current title are compared.
        """
        return any(
            entry.entry_id != ignore_entry_id
            and unique_id in (entry.unique_id, site_unique_id(entry.title))
            for entry in self._async_current_entries(include_ignore=False)
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the site title."""
        errors: dict[str, str] = {}
        if user_input is not None:
            title = clean_site_title(user_input[CONF_SITE_TITLE])
            if title is None:
                errors[CONF_SITE_TITLE] = "invalid_title"
            else:
                unique_id = site_unique_id(title)
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_configured()
                if self._site_in_use(unique_id):
                    return self.async_abort(reason="already_configured")
                return self.async_create_entry(title=title, data={CONF_SITE_TITLE: title})

        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _title_schema(DEFAULT_SITE_TITLE), user_input
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename the site. The entry keeps its unique id so entity ids stay stable."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            title = clean_site_title(user_input[CONF_SITE_TITLE])
            if title is None:
                errors[CONF_SITE_TITLE] = "invalid_title"
            elif self._site_in_use(site_unique_id(title), ignore_entry_id=entry.entry_id):
                errors[CONF_SITE_TITLE] = "title_in_use"
            else:
                return self.async_update_reload_and_abort(
                    entry, title=title, data_updates={CONF_SITE_TITLE: title}
                )

        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _title_schema(None),
                user_input or {CONF_SITE_TITLE: entry.data[CONF_SITE_TITLE]},
            ),
            errors=errors,
        )
