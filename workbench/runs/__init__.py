"""Run plans and run history: what to compare, and what came of it."""
