"""The CLI end to end on each store, lifecycles, faults, the README."""
