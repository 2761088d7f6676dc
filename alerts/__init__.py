"""Complaints and alerts: triage negative, spreading posts into complaints, find who is on
duty, and deliver masked Slack notifications through an outbox."""
