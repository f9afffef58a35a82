"""Load an :class:`ExperimentConfig` from YAML plus dotted ``key.sub=value`` overrides, type-checked.

Every error names the source (file or override) and the dotted key, e.g.
``configs/qm9.yaml: optim.lr: expected float, got 'fast'``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from molgen.config.checks import value_problems
from molgen.config.schema import ExperimentConfig
from molgen.config.yaml_limits import load_yaml
from molgen.errors import MolgenInputError, read_text

#: a config file is a few kB; more is not one
MAX_CONFIG_BYTES = 1 << 20


class ConfigError(MolgenInputError):
    """A configuration file or override that does not fit the schema."""


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Read ``path`` (YAML; None = all defaults) and apply ``overrides`` like ``optim.lr=1e-4``."""
    data: dict[str, Any] = {}
    source = str(path) if path is not None else "defaults"
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file not found: {path}")
        try:
            loaded = load_yaml(read_text(path, "config file", MAX_CONFIG_BYTES), str(path))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {exc}") from None
        except MolgenInputError as exc:  # not a regular file, not UTF-8, too large, an alias bomb, a duplicate key
            raise ConfigError(str(exc)) from None
        if loaded is None:
            raise ConfigError(f"{path}: empty config file (copy one of configs/*.yaml; no defaults are assumed)")
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: top level must be a mapping of sections, got {type(loaded).__name__}")
        data = loaded
    config = apply_overrides(build(ExperimentConfig, data, source), overrides)
    check_values(config, f"{source} with overrides" if overrides else source)
    return config


def check_values(config: ExperimentConfig, source: str, combinations: bool = True) -> None:
    """Raise :class:`ConfigError` for the first value that cannot work (see :mod:`molgen.config.checks`)."""
    for key, value, requirement in value_problems(config, combinations):
        raise ConfigError(f"{source}: {key}: must be {requirement}, got {value!r}")


def apply_overrides(config: ExperimentConfig, overrides: list[str] | tuple[str, ...]) -> ExperimentConfig:
    """Return a copy of ``config`` with ``key.sub=value`` overrides applied (values parsed as YAML scalars)."""
    data = dataclasses.asdict(config)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected key.sub=value")
        node = data
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"override {item!r}: unknown section {'.'.join(parts[:depth + 1])!r}")
            node = node[part]
        if parts[-1] not in node:
            raise ConfigError(f"override {item!r}: unknown key {key!r}; known: {', '.join(sorted(node))}")
        try:
            node[parts[-1]] = load_yaml(raw, f"override {item!r}") if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: cannot parse value: {exc}") from None
        except MolgenInputError as exc:
            raise ConfigError(str(exc)) from None
    return build(ExperimentConfig, data, "overrides") if overrides else config


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """Plain nested dict (for checkpoints and YAML)."""
    return dataclasses.asdict(config)


def config_from_dict(data: dict[str, Any], source: str = "checkpoint") -> ExperimentConfig:
    """The config stored in a checkpoint (or any dict), with the same type and value checks as a YAML file:
    a checkpoint asking for 10^6 channels is refused here, before anything is allocated. The checks across
    keys are those of a new run (a stored ``tensor_product`` with ``lmax`` 1 is unused, not wrong)."""
    config = build(ExperimentConfig, data, source)
    check_values(config, source, combinations=False)
    return config


def build(cls: type, data: Any, source: str, prefix: str = "") -> Any:
    """Instantiate dataclass ``cls`` from a mapping, checking keys and types recursively."""
    where = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown key '{prefix}{unknown[0]}'; known in {where}: {', '.join(sorted(known))}")
    values = {name: _check(hints[name], value, source, f"{prefix}{name}") for name, value in data.items()}
    return cls(**values)


def _check(hint: Any, value: Any, source: str, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return build(hint, value, source, key + ".")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _check(inner, value, source, key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{source}: {key}: expected a list, got {value!r}")
        return [_check(args[0], v, source, f"{key}[{i}]") for i, v in enumerate(value)]
    return _scalar(hint, value, source, key)


def _scalar(hint: type, value: Any, source: str, key: str) -> Any:
    if hint is float and isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 reads "1e-4" as a string
        except ValueError:
            pass
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{source}: {key}: expected {hint.__name__}, got {value!r}")
