"""Sensors and officer devices over MQTT (感知源, smart holster): docs/sensors.md, docs/mqtt.md."""
