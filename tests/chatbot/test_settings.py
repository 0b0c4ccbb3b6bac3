"""Settings: environment, TOML config file, readable validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.answer.registry import create_backend, known_backends
from chatbot.errors import ConfigurationError
from chatbot.settings import load_settings


def test_config_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "schaengel.toml"
    config.write_text('collection = "lahnfeld"\ntop_k = 9\nanswer_backend = "Extractive"\n')
    monkeypatch.setenv("SCHAENGEL_CONFIG_FILE", str(config))
    monkeypatch.setenv("SCHAENGEL_TOP_K", "4")
    settings = load_settings()
    assert settings.collection == "lahnfeld"
    assert settings.top_k == 4
    assert settings.answer_backend == "extractive"


def test_missing_config_file_and_bad_values_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCHAENGEL_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigurationError, match=r"nope\.toml"):
        load_settings()
    monkeypatch.delenv("SCHAENGEL_CONFIG_FILE")
    monkeypatch.setenv("SCHAENGEL_TOP_K", "0")
    with pytest.raises(ConfigurationError, match="SCHAENGEL_TOP_K"):
        load_settings()


def test_unknown_answer_backend_lists_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHAENGEL_ANSWER_BACKEND", "gpt-99")
    with pytest.raises(ConfigurationError) as error:
        create_backend(load_settings())
    for name in ("extractive", "local", "openai", "aleph-alpha"):
        assert name in str(error.value)
    assert set(known_backends()) >= {"extractive", "local", "openai", "aleph-alpha"}
