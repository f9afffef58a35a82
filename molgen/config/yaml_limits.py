"""YAML from untrusted files, bounded: aliases, nesting depth and size are limited, duplicate keys refused.

PyYAML's ``safe_load`` runs no code but builds whatever the document describes: an alias bomb
("billion laughs") is a few hundred bytes that expand to 10^9 nodes when anything walks the
result, and a second ``optim:`` section silently replaces the first. :func:`load_yaml` refuses
both, with one line naming the source and the line.
"""

from __future__ import annotations

from typing import Any

import yaml

from molgen.errors import MolgenInputError

#: at most this many alias uses (``*name``) in one document
MAX_ALIASES = 100
#: at most this many nested collections
MAX_DEPTH = 32
#: at most this many nodes once aliases are expanded
MAX_NODES = 100_000


class YamlLimitError(MolgenInputError):
    """A YAML document beyond the limits of :mod:`molgen.config.yaml_limits`, or with a duplicated key."""


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with alias, depth and duplicate-key checks; ``source`` names the file in messages."""

    source = "YAML"

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def _where(self, node_or_event: Any) -> str:
        mark = getattr(node_or_event, "start_mark", None)
        return f"{self.source}: line {mark.line + 1}" if mark is not None else self.source

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(f"{self._where(self.peek_event())}: more than {MAX_ALIASES} YAML aliases "
                                     "(an alias bomb?)")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlLimitError(f"{self._where(self.peek_event())}: YAML nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:  # an unhashable key: construct_mapping names it
                    continue
                if duplicate:
                    raise YamlLimitError(f"{self._where(key_node)}: duplicate key {key!r} (first at line "
                                         f"{seen[key]}); a second one would silently replace the first")
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def _count(node: Any, memo: dict[int, int], depth: int = 0) -> int:
    """Nodes under ``node`` with aliases expanded (shared nodes counted once per use, memoised)."""
    if id(node) in memo:
        return memo[id(node)]
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_count(child, memo, depth + 1) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_count(k, memo, depth + 1) + _count(v, memo, depth + 1) for k, v in node.value)
    memo[id(node)] = min(total, MAX_NODES + 1)
    return memo[id(node)]


def load_yaml(text: str, source: str) -> Any:
    """The data of the single YAML document ``text``; :class:`YamlLimitError` or ``yaml.YAMLError`` if refused."""
    loader = BoundedLoader(text)
    loader.source = source
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _count(node, {}) > MAX_NODES:
            raise YamlLimitError(f"{source}: more than {MAX_NODES} YAML nodes once aliases are expanded "
                                 "(an alias bomb?)")
        return loader.construct_document(node)
    except RecursionError:
        raise YamlLimitError(f"{source}: YAML nested too deeply") from None
    finally:
        loader.dispose()
