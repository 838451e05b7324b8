"""InfluxDB 1.x line protocol and InfluxQL quoting, as the InfluxStore uses them.

Line protocol (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/):
`measurement,tag=value field=value,... timestamp`. Measurements escape comma and space; tag
keys, tag values and field keys escape comma, equals sign and space; string field values are
double-quoted with backslash and double quote escaped. Integers carry an `i` suffix and floats
are always written with a decimal point or exponent, because InfluxDB fixes a field's type per
shard from the first value it sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from telemetry.blocks import values_getter
from telemetry.identity import event_key, has_key_fields
from telemetry.store.base import RECEIVED_COLUMN, FieldKind
from telemetry.wire import FieldValue, ReceivedReading

READINGS_MEASUREMENT = "readings"
SEQ_MEASUREMENT = "innotrial_seq"
COUNTERS_MEASUREMENT = "innotrial_counters"
SPANS_MEASUREMENT = "innotrial_spans"
FIELDS_MEASUREMENT = "innotrial_fields"
DEVICE_TAG = "device_id"
EVENT_KEY_TAG = "event_key"
"""Tag of an event's key (telemetry.identity), so simultaneous events are different series
points instead of overwriting each other; absent for periodic readings."""

_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})
_KEY_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


def escape_measurement(name: str) -> str:
    """A measurement name escaped for line protocol."""
    return name.translate(_MEASUREMENT_ESCAPES)


def escape_key(name: str) -> str:
    """A tag key, tag value or field key escaped for line protocol."""
    return name.translate(_KEY_ESCAPES)


def render_value(value: FieldValue, kind: FieldKind | None = None) -> str:
    """One field value in line protocol; an int bound for a float field is written as a float."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, int):
        return float.__repr__(float(value)) if kind == "float" else f"{int(value)}i"
    return _quote_string(value)


def _quote_string(value: str) -> str:
    return '"' + value.translate(_STRING_ESCAPES) + '"'


def _render_bool(value: bool) -> str:
    return "true" if value else "false"


def _same(value: object) -> object:
    return value


@dataclass(frozen=True, slots=True)
class _Template:
    """A %-format for readings of one device with the same field names and value types.

    Rendering a line is then one `%` operation in C instead of a Python call per field.
    """

    text: str
    types: tuple[type, ...]
    converters: tuple[Callable[[Any], object], ...] | None


_SPECS: dict[type, tuple[str, Callable[[Any], object]]] = {
    float: ("%r", _same),
    int: ("%di", _same),
    bool: ("%s", _render_bool),
    str: ("%s", _quote_string),
}
_KINDS: dict[type, FieldKind] = {float: "float", int: "int", bool: "bool", str: "string"}
_TYPES_OF_KIND: dict[FieldKind | None, frozenset[type]] = {
    "float": frozenset({float}), "int": frozenset({int}),
}
"""Kinds whose values `%r` renders as line protocol, and the value type each takes."""
_NO_VALUES: dict[str, FieldValue] = {}

Signature = tuple[str, tuple[str, ...]]
"""(device_id, field names) of a reading."""


def _make_template(
    prefix: str, names: Sequence[str], types: tuple[type, ...], kinds: Mapping[str, FieldKind]
) -> _Template | None:
    """A template for exactly these types, or None when a value needs care (int -> float)."""
    for name, value_type in zip(names, types, strict=True):
        if value_type not in _SPECS or (value_type is int and kinds.get(name) == "float"):
            return None
    parts = [
        f"{escape_key(name).replace('%', '%%')}={_SPECS[value_type][0]}"
        for name, value_type in zip(names, types, strict=True)
    ]
    parts.append(f"{RECEIVED_COLUMN}=%di %d")
    converters = tuple(_SPECS[value_type][1] for value_type in types)
    needs_conversion = any(converter is not _same for converter in converters)
    text = prefix.replace("%", "%%") + ",".join(parts)
    return _Template(text, types, converters if needs_conversion else None)


@dataclass(frozen=True, slots=True)
class UniformFields:
    """The fields part of a %-template for fields that each hold floats only or ints only:
    `%r` per field (with `i` for ints), and the value type each field accepts."""

    template: str
    accepted: tuple[frozenset[type], ...]


def _uniform_fields(
    names: tuple[str, ...], kinds: tuple[FieldKind | None, ...]
) -> UniformFields | None:
    if not names or not _TYPES_OF_KIND.keys() >= set(kinds):
        return None
    template = ",".join(
        f"{escape_key(name).replace('%', '%%')}=%r" + ("i" if kind == "int" else "")
        for name, kind in zip(names, kinds, strict=True)
    )
    return UniformFields(template, tuple(_TYPES_OF_KIND[kind] for kind in kinds))


class LineRenderer:
    """Renders readings and bookkeeping points, caching escaped keys, prefixes and templates."""

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}
        self._prefixes: dict[tuple[str, str], str] = {}
        self._templates: dict[Signature, _Template | None] = {}
        self._uniform: dict[
            tuple[tuple[str, ...], tuple[FieldKind | None, ...]], UniformFields | None
        ] = {}

    def _key(self, name: str) -> str:
        escaped = self._keys.get(name)
        if escaped is None:
            escaped = self._keys[name] = escape_key(name)
        return escaped

    def series(self, measurement: str, device_id: str) -> str:
        """`measurement,device_id=...` followed by a space, escaped."""
        prefix = self._prefixes.get((measurement, device_id))
        if prefix is None:
            prefix = f"{escape_measurement(measurement)},{DEVICE_TAG}={escape_key(device_id)} "
            self._prefixes[(measurement, device_id)] = prefix
        return prefix

    def readings(
        self, items: Sequence[ReceivedReading], kinds: MutableMapping[str, FieldKind],
        signatures: set[Signature] | None = None,
    ) -> list[str]:
        """Lines for readings: time = ts_ms, fields = values plus received_ms (integer).

        `kinds` holds the field types InfluxDB has fixed; a field not in it is added with the
        kind of its first value, so a later int for a float field is still written as a float.
        The (device_id, field names) of the readings are added to `signatures`.
        """
        seen: set[Signature] = set() if signatures is None else signatures
        if items:
            lines = self._uniform_lines(items, kinds, seen)
            if lines is not None:
                return lines
        return self._lines_by_signature(items, kinds, seen)

    def _uniform_lines(
        self, items: Sequence[ReceivedReading], kinds: MutableMapping[str, FieldKind],
        signatures: set[Signature],
    ) -> list[str] | None:
        """Lines when every reading has the first one's field names and every field holds
        floats only or ints only; None otherwise (the reading-by-reading path renders those).
        Checks go column by column in C, then one %-format per line."""
        first = items[0].reading.values
        names = tuple(first)
        if has_key_fields(names):
            return None  # events: each line's series carries its event key
        fields = self.uniform_fields(names, list(first.values()), kinds)
        if fields is None:
            return None
        count = len(names)
        get = values_getter(names)
        readings = [item.reading for item in items]
        try:  # a reading with other names, or another number of them, raises KeyError
            rows = [get(values if len(values) == count else _NO_VALUES)
                    for values in [reading.values for reading in readings]]
        except KeyError:
            return None
        for column, accepted in zip(zip(*rows, strict=True), fields.accepted, strict=True):
            if not accepted.issuperset(map(type, column)):
                return None
        devices = [reading.device_id for reading in readings]
        prefix = {device_id: self.series(READINGS_MEASUREMENT, device_id)
                  for device_id in set(devices)}
        signatures.update((device_id, names) for device_id in prefix)
        return [
            f"{series}{fields.template % row},{RECEIVED_COLUMN}={received_ms}i {ts_ms}"
            for series, row, received_ms, ts_ms in zip(
                map(prefix.__getitem__, devices), rows,
                [item.received_ms for item in items], [reading.ts_ms for reading in readings],
                strict=True,
            )
        ]

    def uniform_fields(
        self, names: tuple[str, ...], first_values: Sequence[object],
        kinds: MutableMapping[str, FieldKind],
    ) -> UniformFields | None:
        """The fields template for `names`, or None when one is not a float or int field.

        A field not in `kinds` gets the kind of its value in `first_values`."""
        for name, value in zip(names, first_values, strict=True):
            if name not in kinds and type(value) in _KINDS:
                kinds[name] = _KINDS[type(value)]
        key = (names, tuple(map(kinds.get, names)))
        if key not in self._uniform:
            self._uniform[key] = _uniform_fields(*key)
        return self._uniform[key]

    def _lines_by_signature(
        self, items: Iterable[ReceivedReading], kinds: MutableMapping[str, FieldKind],
        signatures: set[Signature],
    ) -> list[str]:
        """Lines for readings of any mix of field names and value types."""
        lines: list[str] = []
        templates = self._templates
        for item in items:
            reading = item.reading
            values: tuple[object, ...] = tuple(reading.values.values())
            signature = (reading.device_id, tuple(reading.values))
            signatures.add(signature)
            if has_key_fields(signature[1]):
                lines.append(self._slow_line(item, kinds))
                continue
            template = templates.get(signature)
            if template is None or tuple(map(type, values)) != template.types:
                template = self._template(signature, values, kinds)
            if template is None:
                lines.append(self._slow_line(item, kinds))
                continue
            if template.converters is not None:
                pairs = zip(template.converters, values, strict=True)
                values = tuple(convert(value) for convert, value in pairs)
            lines.append(template.text % (*values, item.received_ms, reading.ts_ms))
        return lines

    def _template(
        self,
        signature: Signature,
        values: tuple[object, ...],
        kinds: MutableMapping[str, FieldKind],
    ) -> _Template | None:
        for name, value in zip(signature[1], values, strict=True):
            if name not in kinds and type(value) in _KINDS:
                kinds[name] = _KINDS[type(value)]
        prefix = self.series(READINGS_MEASUREMENT, signature[0])
        template = _make_template(prefix, signature[1], tuple(map(type, values)), kinds)
        if template is not None or signature not in self._templates:
            self._templates[signature] = template
        return template

    def _slow_line(self, item: ReceivedReading, kinds: Mapping[str, FieldKind]) -> str:
        """One line rendered field by field (unusual value types, ints for float fields)."""
        reading = item.reading
        fields = [
            f"{self._key(name)}={render_value(value, kinds.get(name))}"
            for name, value in reading.values.items()
        ]
        fields.append(f"{RECEIVED_COLUMN}={item.received_ms}i")
        prefix = self.series(READINGS_MEASUREMENT, reading.device_id)
        key = event_key(reading.values)
        if key:  # already safe text (percent-encoded values), escaped all the same
            prefix = f"{prefix[:-1]},{EVENT_KEY_TAG}={escape_key(key)} "
        return f"{prefix}{','.join(fields)} {reading.ts_ms}"

    def seqs(self, seqs: Iterable[tuple[str, int]]) -> list[str]:
        """One point per (device, seq) at time = seq ms: a redelivered seq overwrites itself."""
        return [f"{self.series(SEQ_MEASUREMENT, device_id)}n=1i {seq}" for device_id, seq in seqs]

    def spans(self, spans: Mapping[str, Iterable[tuple[int, int]]]) -> list[str]:
        """Key spans (see influx_spans): a point at time `last` with the field `first`."""
        return [
            f"{self.series(SPANS_MEASUREMENT, device_id)}first={first}i {last}"
            for device_id, device_spans in spans.items()
            for first, last in device_spans
        ]

    def counters(self, duplicates: Mapping[str, int], writer: str, time_ms: int) -> list[str]:
        """Duplicate-count increments, summed at read time; `writer` keeps series apart."""
        return [
            f"{escape_measurement(COUNTERS_MEASUREMENT)},{DEVICE_TAG}={escape_key(device_id)},"
            f"writer={escape_key(writer)} duplicates={n}i {time_ms}"
            for device_id, n in sorted(duplicates.items())
        ]

    def fields(self, device_id: str, names: Iterable[str]) -> str:
        """The point at time 0 whose field keys are the fields a device has sent (merged)."""
        body = ",".join(f"{self._key(name)}=true" for name in sorted(names))
        return f"{self.series(FIELDS_MEASUREMENT, device_id)}{body} 0"


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def device_filter(device_id: str) -> str:
    """WHERE condition selecting one device's series."""
    return f"{quote_ident(DEVICE_TAG)} = {quote_string(device_id)}"
