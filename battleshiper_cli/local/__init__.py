"""The local platform: all of Battleshiper on one machine over moto (docs/LOCAL.md)."""
