"""The scorer's name for the engine's working tables (spot_lab.engines.worktables), kept so
existing imports work; the detectors (spot_lab.detect) use the engines module directly."""

from spot_lab.engines.worktables import PREFIX, bounded, drop, is_embedded, push, release, stage

__all__ = ["PREFIX", "bounded", "drop", "is_embedded", "push", "release", "stage"]
