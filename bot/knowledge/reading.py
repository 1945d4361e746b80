"""Reading a knowledge file's YAML fast: libyaml's C parser and a direct tree walk.

PyYAML's generic constructor costs more than libyaml's parsing, and the garbage collector
walks the growing tree over and over while it is built (benchmarks/knowledge_check.py:
1 MB/s with the pure-Python loader). Here the composed tree is turned into plain dicts,
lists and strings in one walk, with the collector paused and a lean tag resolver; anything
unusual (a merge key ``<<``, a tag other than the plain ones) goes through PyYAML's own
constructor, so the result is always what ``yaml.load`` gives. Dates stay strings, so
pydantic reports "2021-13-01" by its field.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# libyaml's C parser where PyYAML was built with it (about 10x the pure-Python one).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


_IMPLICIT = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_WILDCARD = tuple(_IMPLICIT.get(None, ()))
_BY_FIRST = {first: (*resolvers, *_WILDCARD) for first, resolvers in _IMPLICIT.items()}


class PlainLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that leaves dates as strings, with a lean tag resolver.

    The resolver runs once per node (a million times in a 50 MB file). Without path
    resolvers (PyYAML's ``add_path_resolver``, unused here) it reduces to: a plain scalar
    gets the tag of the first implicit pattern it matches, anything else the default tag.
    """

    yaml_implicit_resolvers = _IMPLICIT

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in _BY_FIRST.get(value[:1], _WILDCARD):
                    if regexp.match(value):
                        return str(tag)
            return _STR
        return _SEQ if kind is SequenceNode else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        """No path resolvers: nothing to track."""

    def ascend_resolver(self) -> None:
        """No path resolvers: nothing to track."""


class _Unusual(Exception):
    """The tree needs PyYAML's full constructor (a merge key)."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection inside (reading and validating a file make only live objects)."""
    # Every container made while reading lives until validation: nothing for the collector
    # to free, and each of its passes walks the whole growing tree.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_plain(text: str, loader_class: type[yaml.SafeLoader] = PlainLoader) -> Any:
    """``yaml.load(text, Loader=loader_class)``, faster; raises ``yaml.YAMLError`` as it."""
    loader = loader_class(text)
    try:
        with collector_paused():
            root = loader.get_single_node()
            if root is None:
                return None
            try:
                return _walk(root, loader, {})
            except _Unusual:
                return loader.construct_document(root)
    finally:
        loader.dispose()


def _walk(node: Node, loader: yaml.SafeLoader, made: dict[int, Any]) -> Any:
    if isinstance(node, ScalarNode):
        if node.tag == _STR:
            return node.value
        if node.tag == _NULL:
            return None
        return loader.construct_object(node, deep=True)  # int, float, bool, binary...
    # An alias is the same node again: build it once (no "billion laughs" of copies).
    key = id(node)
    if key in made:
        return made[key]
    if isinstance(node, SequenceNode) and node.tag == _SEQ:
        items: list[Any] = []
        made[key] = items
        items.extend(_walk(child, loader, made) for child in node.value)
        return items
    if isinstance(node, MappingNode) and node.tag == _MAP:
        mapping: dict[Any, Any] = {}
        made[key] = mapping
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Unusual
            name = _walk(key_node, loader, made)
            try:
                mapping[name] = _walk(value_node, loader, made)
            except TypeError:  # an unhashable key: PyYAML says it with the line
                raise _Unusual from None
        return mapping
    raise _Unusual
