"""Playback sessions (the state pattern, heartbeats authenticated by a per-session token), resume,
continue-watching and watch history per user and profile. See README "Sessions & history"."""
