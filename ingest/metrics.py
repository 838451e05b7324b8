"""Prometheus metrics of one ingest worker (its own registry, so several can share a process)."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class IngestMetrics:
    """Counters, gauges and histograms exported at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.stored = Counter("innotrial_ingest_readings_stored_total",
                              "Readings newly written to the store.", registry=reg)
        self.duplicates = Counter("innotrial_ingest_readings_duplicate_total",
                                  "Readings dropped as exact redeliveries.", registry=reg)
        self.rejected = Counter("innotrial_ingest_readings_rejected_total",
                                "Dead letters written, by reason.", ["reason"], registry=reg)
        self.messages = Counter("innotrial_ingest_messages_total",
                                "MQTT messages committed and acknowledged.", registry=reg)
        self.store_errors = Counter("innotrial_ingest_store_errors_total",
                                    "Failed store or registry writes (retried).", ["target"],
                                    registry=reg)
        self.inflight = Gauge("innotrial_ingest_messages_in_flight",
                              "Messages received and not yet acknowledged.", registry=reg)
        self.batch_seconds = Histogram(
            "innotrial_ingest_batch_seconds", "Time to write one batch and its dead letters.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=reg)
        self.batch_readings = Histogram(
            "innotrial_ingest_batch_readings", "Readings per written batch.",
            buckets=(1, 10, 100, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000), registry=reg)
        self.gateways_online = Gauge("innotrial_ingest_gateway_online",
                                     "1 when the gateway's last status was online.", ["gateway_id"],
                                     registry=reg)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve /metrics on host:port (0 picks a free port); returns the port."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        self._server, self._thread = server, thread
        return int(server.server_port)

    def close(self) -> None:
        """Stop the HTTP server if one runs."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
