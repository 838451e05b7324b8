"""Device profiles: one YAML file per device family, validated by a pydantic schema."""

from device_profiles.loader import (
    ProfileError,
    UnknownProfile,
    builtin_profiles,
    get_profile,
    load_profile_file,
)
from device_profiles.schema import DeviceProfile, Family, FieldSpec, FieldType, Role

__all__ = [
    "DeviceProfile",
    "Family",
    "FieldSpec",
    "FieldType",
    "ProfileError",
    "Role",
    "UnknownProfile",
    "builtin_profiles",
    "get_profile",
    "load_profile_file",
]
