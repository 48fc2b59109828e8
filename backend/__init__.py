"""Yizhantong (一站通): the async backend for a city's mobile and WeChat government services."""

__version__ = "0.1.0"
