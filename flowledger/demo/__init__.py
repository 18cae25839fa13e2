"""Deterministic demo data: flow runs, step runs, queue depths and business events (CloudEvents)."""

from flowledger.demo.generator import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
