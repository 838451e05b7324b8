"""Turn text cells and loose JSON values into profile-typed values."""

from __future__ import annotations

from typing import Any

from device_profiles import DeviceProfile, FieldType


def from_text(profile: DeviceProfile, name: str, text: str) -> Any:
    """Convert one CSV cell to the type of profile field `name` ("" means absent -> None)."""
    spec = profile.fields.get(name)
    if spec is None or text == "":
        return text if spec is None and text != "" else None
    try:
        if spec.type is FieldType.FLOAT:
            return float(text)
        if spec.type is FieldType.INT:
            return int(text)
    except ValueError:
        return text  # validation reports the type mismatch
    if spec.type is FieldType.BOOL:
        lowered = text.strip().lower()
        return {"true": True, "false": False}.get(lowered, text)
    return text
