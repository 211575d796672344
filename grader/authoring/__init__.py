"""Authoring: learner notebooks generated from the sources (release) and the checks on sources."""
