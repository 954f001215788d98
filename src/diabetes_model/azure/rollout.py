"""Blue/green rollout decisions: which slot gets the new model, and how traffic moves. Pure."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping

from diabetes_model.errors import UserError

SLOTS = ("blue", "green")
# Managed online endpoint names: 3-32 characters, a letter first, then letters, digits and '-'.
ENDPOINT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]")


def idle_slot(traffic: Mapping[str, int], deployments: Collection[str]) -> str:
    """The slot to deploy to: the one serving least traffic (blue when there is a tie)."""
    return min(SLOTS, key=lambda slot: (int(traffic.get(slot, 0)), slot in deployments, slot))


def other_slot(slot: str) -> str:
    return SLOTS[1 - SLOTS.index(slot)]


def check_slot(slot: str) -> str:
    if slot not in SLOTS:
        raise UserError(f"--slot {slot!r} is not a deployment slot: use {' or '.join(SLOTS)}")
    return slot


def new_traffic(slot: str, percent: int, deployments: Collection[str]) -> dict[str, int]:
    """Traffic after `slot` passed its smoke test: `percent` to it, the rest to the other slot.

    Without another deployment to take the rest, the new one takes all of it.
    """
    if not 0 <= percent <= 100:
        raise UserError(f"--traffic {percent} is not a percentage: use 0 to 100")
    other = other_slot(slot)
    if other not in deployments:
        return {slot: 100}
    return {slot: percent, other: 100 - percent}


def endpoint_name(base: str, workspace_id: str) -> str:
    """`base` plus 6 hex digits of the workspace id: endpoint names are unique per Azure region."""
    suffix = hashlib.sha256(workspace_id.lower().encode()).hexdigest()[:6]
    return check_endpoint_name(f"{base[: 32 - 7].rstrip('-')}-{suffix}")


def check_endpoint_name(name: str) -> str:
    if not ENDPOINT_NAME.fullmatch(name):
        raise UserError(
            f"endpoint name {name!r} is not valid: 3-32 letters, digits or '-', starting with a "
            "letter; set deploy.endpoint_name in invoke.yaml"
        )
    return name


def describe_traffic(traffic: Mapping[str, int]) -> str:
    shown = [f"{slot} {traffic[slot]}%" for slot in SLOTS if slot in traffic]
    return ", ".join(shown) or "no traffic"
