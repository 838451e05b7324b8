"""Generated broker credentials on a real Mosquitto: a gateway publishes under its own prefix
only; ingest reads everything."""

from __future__ import annotations

import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from innotrial.cli import cli
from portal_api.broker import password_hash, write_broker_config
from registry.db import open_registry
from tests.portal_api.conftest import seed
from tests.services import Mosquitto, running_mosquitto


@pytest.fixture
def broker_dir(tmp_path: Path) -> Iterator[Path]:
    """Broker files generated from a registry with gateways gw-a and gw-b.

    They live in a directory the `mosquitto` user can traverse (Mosquitto drops root privileges
    before it reads the password file; pytest's tmp dirs are 0700)."""
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    seed(registry)
    top = Path(tempfile.mkdtemp(prefix="innotrial-broker-"))
    top.chmod(0o755)
    with registry.session() as session:
        write_broker_config(session, top / "broker")
    registry.close()
    yield top / "broker"
    shutil.rmtree(top)


@pytest.fixture
def secured(broker_dir: Path, tmp_path: Path) -> Iterator[tuple[Mosquitto, dict[str, str]]]:
    conf = (broker_dir / "mosquitto.conf").read_text()
    credentials = yaml.safe_load((broker_dir / "credentials.yaml").read_text())
    with running_mosquitto(tmp_path / "mosquitto", extra_conf=conf, anonymous=False) as broker:
        yield broker, credentials


def connect(port: int, user: str, password: str) -> tuple[mqtt.Client, ReasonCode]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{user}",
                         protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    done = threading.Event()
    result: list[ReasonCode] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, code: ReasonCode, _p: object) -> None:
        result.append(code)
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert done.wait(10), "no CONNACK"
    return client, result[0]


def test_files_and_modes(broker_dir: Path) -> None:
    acl = (broker_dir / "acl").read_text()
    assert "user gw-a\ntopic write innotrial/v1/gw-a/+/readings\n" in acl
    assert "topic write innotrial/v1/gw-a/status\ntopic read innotrial/v1/gw-a/acks\n" in acl
    assert "user innotrial-ingest\ntopic read innotrial/v1/#" in acl
    assert stat.S_IMODE((broker_dir / "credentials.yaml").stat().st_mode) == 0o600
    conf = (broker_dir / "mosquitto.conf").read_text()
    assert "max_queued_messages 0" in conf and "persistence true" in conf
    users = [line.split(":")[0] for line in (broker_dir / "passwords").read_text().splitlines()]
    assert users == ["innotrial-ingest", "gw-a", "gw-b"]


def test_rerun_keeps_existing_passwords(broker_dir: Path, tmp_path: Path) -> None:
    before = yaml.safe_load((broker_dir / "credentials.yaml").read_text())
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    with registry.session() as session:
        write_broker_config(session, broker_dir)
        assert write_broker_config(session, broker_dir).gateway_ids == ("gw-a", "gw-b")
    registry.close()
    assert yaml.safe_load((broker_dir / "credentials.yaml").read_text()) == before


def test_password_hash_format_is_mosquittos() -> None:
    value = password_hash("secret", salt=b"\x00" * 12)
    assert value.startswith("$7$101$AAAAAAAAAAAAAAAA$") and len(value.split("$")[4]) == 88


def publish_acked(client: mqtt.Client, topic: str, payload: bytes) -> ReasonCode:
    """Publish with QoS 1 and return the PUBACK reason code (MQTT v5)."""
    acked = threading.Event()
    codes: list[ReasonCode] = []

    def on_publish(_c: mqtt.Client, _u: object, _mid: int, code: ReasonCode, _p: object) -> None:
        codes.append(code)
        acked.set()

    client.on_publish = on_publish
    client.publish(topic, payload, qos=1)
    assert acked.wait(10), "no PUBACK"
    return codes[0]


def test_gateway_publishes_only_under_its_own_prefix(
    secured: tuple[Mosquitto, dict[str, str]],
) -> None:
    broker, credentials = secured
    received: list[str] = []
    marker = threading.Event()
    ingest, code = connect(broker.port, "innotrial-ingest", credentials["innotrial-ingest"])
    assert not code.is_failure

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        received.append(message.topic)
        if message.payload == b"marker":
            marker.set()

    ingest.on_message = on_message
    subscribed = threading.Event()
    ingest.on_subscribe = lambda *_args: subscribed.set()
    ingest.subscribe("innotrial/v1/#", qos=1)
    assert subscribed.wait(10)
    forger, code = connect(broker.port, "gw-a", credentials["gw-a"])
    assert not code.is_failure
    # Mosquitto refuses the publish under gw-b's prefix (PUBACK 135) and drops the client
    refused = publish_acked(forger, "innotrial/v1/gw-b/b-dut/readings", b"forged")
    assert refused.value == 135 and refused.getName() == "Not authorized"
    forger.loop_stop()
    forger.disconnect()
    reader_write = publish_acked(ingest, "innotrial/v1/gw-a/a-dut/readings", b"from-ingest")
    assert reader_write.value == 135
    ingest, code = connect(broker.port, "innotrial-ingest", credentials["innotrial-ingest"])
    ingest.on_message = on_message
    subscribed.clear()
    ingest.on_subscribe = lambda *_args: subscribed.set()
    ingest.subscribe("innotrial/v1/#", qos=1)
    assert subscribed.wait(10)
    gateway, code = connect(broker.port, "gw-a", credentials["gw-a"])
    assert not publish_acked(gateway, "innotrial/v1/gw-a/a-dut/readings", b"own").is_failure
    assert not publish_acked(gateway, "innotrial/v1/gw-a/status", b"marker").is_failure
    assert marker.wait(10)
    assert received == ["innotrial/v1/gw-a/a-dut/readings", "innotrial/v1/gw-a/status"]
    for client in (gateway, ingest):
        client.loop_stop()
        client.disconnect()


def test_gateway_reads_only_its_own_confirmations_and_ingest_writes_them(
    secured: tuple[Mosquitto, dict[str, str]],
) -> None:
    broker, credentials = secured
    gateway, code = connect(broker.port, "gw-a", credentials["gw-a"])
    assert not code.is_failure
    received: list[tuple[str, bytes]] = []
    marker = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        received.append((message.topic, bytes(message.payload)))
        if message.payload == b"marker":
            marker.set()

    gateway.on_message = on_message
    subscribed = threading.Event()
    gateway.on_subscribe = lambda *_args: subscribed.set()
    gateway.subscribe([("innotrial/v1/+/acks", 1), ("innotrial/v1/_ingest/+/state", 1)])
    assert subscribed.wait(10)
    ingest, code = connect(broker.port, "innotrial-ingest", credentials["innotrial-ingest"])
    assert not code.is_failure
    for topic in ["innotrial/v1/gw-b/acks", "innotrial/v1/gw-a/acks",
                  "innotrial/v1/_ingest/w1/state"]:
        assert not publish_acked(ingest, topic, topic.encode()).is_failure
    assert not publish_acked(ingest, "innotrial/v1/_ingest/w1/state", b"marker").is_failure
    assert marker.wait(10)
    assert [topic for topic, _ in received] == [
        "innotrial/v1/gw-a/acks", "innotrial/v1/_ingest/w1/state", "innotrial/v1/_ingest/w1/state"]
    # a gateway cannot forge confirmations or presence, not even its own
    assert publish_acked(gateway, "innotrial/v1/gw-a/acks", b"forged").value == 135
    for client in (gateway, ingest):
        client.loop_stop()
        client.disconnect()


def test_wrong_password_is_refused(secured: tuple[Mosquitto, dict[str, str]]) -> None:
    broker, _credentials = secured
    client, code = connect(broker.port, "gw-a", "not-the-password")
    client.loop_stop()
    assert code.is_failure


def test_cli_prints_where_passwords_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNOTRIAL_DATA_DIR", str(tmp_path))
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    seed(registry)
    registry.close()
    result = CliRunner().invoke(cli, ["broker", "config", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert f"passwords (mode 0600, keep secret): {tmp_path / 'b' / 'credentials.yaml'}" in result.output
    assert "2 gateway(s)" in result.output
