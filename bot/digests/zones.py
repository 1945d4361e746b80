"""Common time zones by region, offered as buttons under /settings ("Change time zone").

A short list of the most-used IANA zones of each area (by population); typing
``/subscribe HH:MM Area/City`` still reaches every zone.
"""

from __future__ import annotations

REGIONS: dict[str, tuple[str, ...]] = {
    "Europe": (
        "Europe/London",
        "Europe/Paris",
        "Europe/Berlin",
        "Europe/Madrid",
        "Europe/Rome",
        "Europe/Warsaw",
        "Europe/Athens",
        "Europe/Istanbul",
        "Europe/Moscow",
    ),
    "America": (
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Toronto",
        "America/Mexico_City",
        "America/Bogota",
        "America/Sao_Paulo",
        "America/Argentina/Buenos_Aires",
    ),
    "Asia": (
        "Asia/Tokyo",
        "Asia/Shanghai",
        "Asia/Seoul",
        "Asia/Manila",
        "Asia/Jakarta",
        "Asia/Bangkok",
        "Asia/Kolkata",
        "Asia/Dubai",
        "Asia/Karachi",
    ),
    "Africa": (
        "Africa/Lagos",
        "Africa/Cairo",
        "Africa/Johannesburg",
        "Africa/Nairobi",
        "Africa/Casablanca",
        "Africa/Accra",
        "Africa/Addis_Ababa",
        "Africa/Kinshasa",
    ),
    "Pacific": (
        "Australia/Sydney",
        "Australia/Melbourne",
        "Australia/Brisbane",
        "Australia/Perth",
        "Pacific/Auckland",
        "Pacific/Fiji",
        "Pacific/Port_Moresby",
        "Pacific/Honolulu",
    ),
}
WORLD = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
)
_AREAS = {"Australia": "Pacific", "Atlantic": "Europe", "Indian": "Asia", "Antarctica": "Pacific"}


def region_of(zone: str) -> str | None:
    """``Europe/Berlin`` → ``Europe``; ``Australia/Perth`` → ``Pacific``; ``UTC`` → None."""
    area = zone.split("/", 1)[0]
    region = _AREAS.get(area, area)
    return region if region in REGIONS else None


def common_zones(region: str | None) -> tuple[str, ...]:
    """The zones to offer for ``region`` (None: a few from around the world)."""
    return REGIONS.get(region, WORLD) if region is not None else WORLD
