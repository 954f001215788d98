"""Diabetes progression model: data, training, tracking and deployment."""
