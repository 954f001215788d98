"""Serving: the Azure ML scoring script, the local inference server, and the online deployment."""
