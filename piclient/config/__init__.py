"""Config: one YAML file on the boot partition, validated key by key."""

from piclient.config.loader import ConfigError, dump_effective, effective_config, load_config, parse_config
from piclient.config.schema import Config

__all__ = ["Config", "ConfigError", "dump_effective", "effective_config", "load_config", "parse_config"]
