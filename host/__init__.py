"""nkhost: a Python game-server runtime host speaking Nakama's wire protocol."""

__version__ = "0.1.0"
