"""Configuration in PostgreSQL: the typed model, the store, the live listener and installation setup.

The engine bridge (``revaer.config.engine_bridge``) is imported on its own: it
pulls in the engine's types, which the CLI does not need.
"""

from revaer.config.listener import ConfigListener
from revaer.config.model import SPECS, Config, ConfigValidationError, validate
from revaer.config.setup import AlreadyBootstrapped, InvalidSetupToken, Setup, SetupError, SetupResult
from revaer.config.store import ConfigStore, VersionConflict, Versioned

__all__ = [
    "SPECS",
    "AlreadyBootstrapped",
    "Config",
    "ConfigListener",
    "ConfigStore",
    "ConfigValidationError",
    "InvalidSetupToken",
    "Setup",
    "SetupError",
    "SetupResult",
    "VersionConflict",
    "Versioned",
    "validate",
]
