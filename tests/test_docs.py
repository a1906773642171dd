"""The README documents every CLI command and every config key (like sqlite-utils' test_docs)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from monitor import cli, config

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def _models(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models inside a field's annotation (list[...], unions, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += _models(arg)
    return out


def _keys(model: type[BaseModel], prefix: str) -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        nested = _models(field.annotation)
        if nested:
            for sub in nested:
                dotted = sub.__name__ not in {"SourceConfig", "RuleConfig"} and not issubclass(
                    sub, (config.EmailChannel, config.WebhookChannel, config.ConsoleChannel)
                )
                keys += _keys(sub, f"{prefix}{key}." if dotted else "")
        else:
            keys.append(prefix + key)
    return keys


ALL_KEYS = sorted(set(_keys(config.Config, "")))


@pytest.mark.parametrize("key", ALL_KEYS)
def test_config_key_documented(key: str) -> None:
    assert re.search(rf"`{re.escape(key)}`", README), f"README does not document `{key}`"


def test_keys_found() -> None:
    # the walker itself must see the nested sections, or the test above proves nothing
    assert {"fetch.max_bytes", "storage.path", "article.drop", "every", "secret"} <= set(ALL_KEYS)


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_command_documented(command: str) -> None:
    assert f"`monitor {command}" in README, f"README does not document `monitor {command}`"


def test_every_subcommand_is_registered() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {c.split()[0] for c in cli.COMMANDS}  # type: ignore[attr-defined]
