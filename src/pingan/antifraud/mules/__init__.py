"""Mule-account detection (涉诈账户识别): behaviour features, a LightGBM classifier, reasons per score.

A score is a lead for human review; it never triggers an order by itself (DESIGN.md).
"""
