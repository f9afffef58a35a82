"""Typed configuration: dataclass schema and YAML loading with dotted overrides."""

from molgen.config.load import ConfigError, apply_overrides, config_from_dict, config_to_dict, load_config
from molgen.config.schema import ExperimentConfig

__all__ = ["ConfigError", "ExperimentConfig", "apply_overrides", "config_from_dict", "config_to_dict", "load_config"]
