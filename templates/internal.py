"""The internal subsystem: the platform's data (`templates.data`), its API (`templates.api`) and the
dashboard (`templates.dashboard`), built in the order their references need."""

from __future__ import annotations

from troposphere import Template

from templates import api, dashboard, data
from templates.config import PlatformConfig


def add(t: Template, config: PlatformConfig) -> None:
    groups = data.add(t, config)
    api_functions = api.add_api_functions(t, config, groups)
    bucket = dashboard.add_dashboard_bucket(t, config)
    hooks = dashboard.add_hook_functions(t, config, groups["dashboard"], bucket)
    alias = dashboard.add_dashboard_function(t, config, groups["dashboard"], hooks)
    api.add_http_api(t, config, api_functions, alias)
    dashboard.add_dashboard_cdn(t, config, bucket)
