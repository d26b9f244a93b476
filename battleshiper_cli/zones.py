"""The availability zones the build subnets go in, chosen by preflight at setup.

Batch runs builds on Fargate, which AWS does not offer in every zone, and an account may see only two
zones of a region (us-west-1 for most accounts). No API lists Fargate's zones, so the choice is the
region's available standard zones (no opt-in, no Local or Wavelength Zones), minus the zone IDs known to
lack Fargate, first by name (the order `Fn::GetAZs` gives), two at least and three at most. The list
is by zone ID because names map to different physical zones in each account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_ZONES = 2
MAX_ZONES = 3

# AWS's "Supported Regions for Amazon ECS on AWS Fargate" page names the only zones with Fargate in
# us-west-1 (usw1-az1, usw1-az3) and ap-northeast-1 (apne1-az1, apne1-az2, apne1-az4). use1-az3 is the
# us-east-1 zone left without current capacity (Fargate, newer instance types) that tools commonly
# exclude. Leaving out a zone costs nothing where others remain.
ZONES_WITHOUT_FARGATE = frozenset({"use1-az3", "usw1-az2", "apne1-az3"})

STANDARD_ZONES = [
    {"Name": "state", "Values": ["available"]},
    {"Name": "zone-type", "Values": ["availability-zone"]},
    {"Name": "opt-in-status", "Values": ["opt-in-not-required"]},
]


@dataclass(frozen=True)
class Zone:
    name: str
    id: str

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


def fargate_zones(ec2: Any) -> list[Zone]:
    """The region's zones in this account that offer Fargate, by name."""
    found = ec2.describe_availability_zones(Filters=STANDARD_ZONES)["AvailabilityZones"]
    return sorted(
        (Zone(z["ZoneName"], z["ZoneId"]) for z in found
         if z.get("State") == "available"
         and z.get("ZoneType", "availability-zone") == "availability-zone"
         and z.get("OptInStatus", "opt-in-not-required") == "opt-in-not-required"
         and z["ZoneId"] not in ZONES_WITHOUT_FARGATE),
        key=lambda z: z.name,
    )


def choose(zones: list[Zone]) -> list[Zone] | None:
    """The zones to build in, or None when there are too few for builds to survive a zone's outage."""
    return zones[:MAX_ZONES] if len(zones) >= MIN_ZONES else None
