"""Messages as plain text, for consoles and logs, and masking of whole payloads (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from storage.privacy import mask_personal_data


def mask_payload(value: Any) -> Any:
    """``value`` with :func:`mask_personal_data` applied to every string inside it."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, Mapping):
        return {key: mask_payload(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_payload(item) for item in value]
    return value


_DATE_TOKEN = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK_TOKEN = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_USER_TOKEN = re.compile(r"<@([A-Z0-9]+)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")


def plain_text(mrkdwn: str) -> str:
    """Slack mrkdwn tokens made readable for a terminal: dates, links, mentions, escapes."""
    text = _DATE_TOKEN.sub(r"\1", mrkdwn)
    text = _LINK_TOKEN.sub(r"\2: \1", text)
    text = _USER_TOKEN.sub(r"@\1", text)
    text = _BOLD.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def payload_as_text(payload: Mapping[str, Any]) -> str:
    """A readable plain-text rendering of a Block Kit payload, for consoles and logs."""
    lines: list[str] = []
    for block in payload.get("blocks") or []:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {block['text']['text']} ==")
        elif kind == "section":
            if "text" in block:
                lines.append(block["text"]["text"])
            for field in block.get("fields", []):
                lines.append(field["text"].replace("\n", ": ", 1))
        elif kind == "context":
            lines.extend(element.get("text", "") for element in block.get("elements", []))
        elif kind == "actions":
            labels = [element.get("text", {}).get("text", "") for element in block["elements"]]
            lines.append(" ".join(f"[{label}]" for label in labels))
    if not lines:
        lines.append(str(payload.get("text", "")))
    return plain_text("\n".join(lines))
