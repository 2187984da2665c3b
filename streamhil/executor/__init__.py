"""The executor: plans supersteps, runs their tasks at once on anyio, applies writes, saves checkpoints."""
