"""Quality of experience: Mux Data's metrics over playback sessions and the CMCD players send.

``logic/metrics.py`` holds the metric definitions, ``logic/cmcd.py`` the CTA-5004 parser,
``logic/collect.py`` the CMCD record consumer (CloudFront real-time logs on AWS, the local edge in
the embedded mode), ``logic/sessions.py`` the per-session QoE written when a session ends and
``logic/summary.py`` the ``GET /v1/videos/{id}/qoe`` summary. ``contract.py`` is what infra reads:
the real-time log fields, shared by the CDK config, the local edge and the consumer.
"""
