"""The workloads: each module builds the same graph on both runtimes and offers its cases."""
