"""The Runs page's table: every run with its live status, step, throughput and tags, filters over
them, and a row click that selects the run for the whole page."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from gandash import variants
from gandash.runs.store import Store
from gandash.ui import common

SEARCHED = ("id", "name", "dataset", "variant", "tags")


@dataclass(frozen=True)
class Filters:
    statuses: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    text: str = ""

    def match(self, run: dict) -> bool:
        needle = self.text.strip().lower()
        return (
            (not self.statuses or run["status"] in self.statuses)
            and (not self.variants or run["variant"] in self.variants)
            and (not needle or any(needle in str(run[key] or "").lower() for key in SEARCHED))
        )


def filters() -> Filters:
    """The filter widgets; their values are kept across pages and reloads."""
    left, middle, right = st.columns([2, 2, 3])
    statuses = left.multiselect(
        "Status", list(common.STATUS_ICONS), **common.keep("filter-status", [], allowed=common.STATUS_ICONS)
    )
    kinds = middle.multiselect(
        "Variant", list(variants.REGISTRY), **common.keep("filter-variant", [], allowed=variants.REGISTRY)
    )
    text = right.text_input("Search", placeholder="name, id, dataset or tag", **common.keep("filter-text", ""))
    return Filters(tuple(statuses), tuple(kinds), text)


def _rate(store: Store, run: dict) -> float | None:
    rows = store.metrics(run["id"], after_step=max(-1, run["step"] - 50), names=("images_per_sec",))
    return round(rows[-1][2]) if rows else None


def rows(runs: list[dict], store: Store, selected: str | None) -> list[dict]:
    return [
        {
            "": "▶" if run["id"] == selected else "",
            "status": common.status_label(run),
            "name": run["name"] or "",
            "variant": run["variant"],
            "dataset": run["dataset"],
            "step": f"{run['step']}" + (f"/{run['total_steps']}" if run["total_steps"] else ""),
            "images/s": _rate(store, run),
            "started": common.age(run["started"] or run["created"]),
            # wall time from the first start to the end (or now): a resumed run counts all its sessions
            "duration": common.duration(run["started"], run["ended"]),
            "tags": ", ".join(tag for tag in (run["tags"] or "").split(",") if tag),
            "id": run["id"],
        }
        for run in runs
    ]


def table(runs: list[dict], store: Store, chosen: Filters, selected: str | None) -> str | None:
    """Draw the filtered table; returns the id of a run the user just clicked, else None.

    The click is read against the ids of the table as it was drawn (a live refresh may have added a
    run since, shifting the rows), and the table's key then changes so Streamlit forgets the clicked
    row: the selected run is marked ▶ instead, whichever way it was chosen (URL, sidebar, click)."""
    version = st.session_state.setdefault("_runs-table-version", 0)
    drawn = st.session_state.get("_runs-table-ids", [])
    shown = [run for run in runs if chosen.match(run)]
    if not shown:
        st.info("No run matches these filters.")
        return None
    event = st.dataframe(
        rows(shown, store, selected),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"runs-table-{version}",
        height=min(38 + 35 * len(shown), 300),
    )
    clicked = event.selection.rows if event else []
    if clicked and clicked[0] < len(drawn):
        st.session_state["_runs-table-version"] = version + 1
        return drawn[clicked[0]]
    st.session_state["_runs-table-ids"] = [run["id"] for run in shown]
    return None
