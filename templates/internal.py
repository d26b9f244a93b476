"""Placeholder; replaced by the internal subsystem."""

from troposphere import Template

from templates.config import PlatformConfig


def add(t: Template, config: PlatformConfig) -> None:
    return None
