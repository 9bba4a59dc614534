"""Train page inputs for the settings only some variants use (gandash.variant_settings)."""

from __future__ import annotations

import streamlit as st

from gandash.core.config import TrainConfig
from gandash.variants.settings import Setting


def inputs(settings: list[Setting], base: TrainConfig, key: str) -> dict:
    """One input per setting, four to a row, starting from `base`'s values; returns {name: value}."""
    values = {}
    for start in range(0, len(settings), 4):
        columns = st.columns(4)
        for column, setting in zip(columns, settings[start : start + 4]):
            values[setting.name] = _input(column, setting, getattr(base, setting.name), f"{setting.name}{key}")
    return values


def _input(column, setting: Setting, value, key: str):
    if setting.choices:
        return column.selectbox(
            setting.label, setting.choices, index=setting.choices.index(value), key=key, help=setting.help
        )
    if isinstance(value, bool):
        return column.checkbox(setting.label, value=value, key=key, help=setting.help)
    if isinstance(value, int):
        return int(
            column.number_input(
                setting.label,
                value=value,
                min_value=int(setting.low),
                step=1,
                key=key,
                max_value=int(setting.high) if setting.high is not None else None,
                help=setting.help,
            )
        )
    return column.number_input(
        setting.label,
        value=float(value),
        min_value=setting.low,
        max_value=setting.high,
        format="%.4f" if value < 0.1 else "%.2f",
        key=key,
        help=setting.help,
    )
