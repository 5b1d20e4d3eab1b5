"""Load a config file, collect every error at once, and print it with secrets masked."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from piclient.config.schema import SECRET_KEYS, Config


class ConfigError(Exception):
    """The config cannot be used. ``problems`` holds one ``key.path: what, what to do`` per line."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems))


def load_config(path: Path | str) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, ["(file): not found; copy config.example.yaml there"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"(file): cannot be read ({exc}); save it as UTF-8 text"]) from None
    return parse_config(text, path)


def parse_config(text: str, path: Path | str = "<config>") -> Config:
    try:
        # safe_load only: a config file never constructs Python objects.
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise ConfigError(path, [f"(file): not valid YAML{line}; check indentation and quotes"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path, ["(file): the top level must be a mapping of sections (device:, ui:, ...)"])
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(err) for err in exc.errors()]) from None


def _describe(err: Any) -> str:
    loc = [str(part) for part in err["loc"]]
    key = ".".join(loc) or "(file)"
    kind = err["type"]
    if kind == "extra_forbidden":
        hint = _did_you_mean(loc)
        return f"{key}: unknown key{hint}; remove it or fix the spelling"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    fix = {
        "literal_error": "use one of the listed values",
        "enum": "use one of the listed buttons",
        "bool_parsing": "use true or false",
        "bool_type": "use true or false",
        "int_parsing": "use a whole number",
        "int_type": "use a whole number",
        "string_type": "put the value in quotes",
        "model_type": "make it a mapping (key: value lines, indented)",
        "dict_type": "make it a mapping (key: value lines, indented)",
    }.get(kind, "see config.example.yaml")
    if kind in {"greater_than_equal", "less_than_equal", "string_too_long", "string_too_short"}:
        fix = "change the value"
    if message[:2].istitle():  # "Input should be" reads better mid-sentence; "CEC code" keeps its case
        message = message[0].lower() + message[1:]
    return f"{key}: {message}; {fix}"


def _did_you_mean(loc: list[str]) -> str:
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {'.'.join([*loc[:-1], close[0]])}?)" if close else ""


def effective_config(config: Config) -> dict[str, Any]:
    """The config as plain data, every default filled in and every secret masked."""
    data = config.model_dump(mode="json")
    for key in SECRET_KEYS:
        _mask(data, key.split("."))
    return data


def _mask(data: dict[str, Any], parts: Iterable[str]) -> None:
    *parents, last = list(parts)
    node: Any = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict) and node.get(last):
        node[last] = "********"


def dump_effective(config: Config) -> str:
    return yaml.safe_dump(effective_config(config), sort_keys=False, allow_unicode=True)
