"""The one home of Logger, Tracer and Metrics: every handler imports them from here."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "Vod"

logger = Logger(utc=True)
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE)
