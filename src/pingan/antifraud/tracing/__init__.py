"""Fund tracing (资金追踪): follow a victim's money through mule layers and size freezes to it."""

from pingan.antifraud.tracing.engine import Limits, TraceResult, trace
from pingan.antifraud.tracing.index import TraceIndex
from pingan.antifraud.tracing.rules import FreezeRecommendation, Method

__all__ = ["FreezeRecommendation", "Limits", "Method", "TraceIndex", "TraceResult", "trace"]
