"""AI metric evaluation: one evaluator interface, a local `free` tier and Claude tiers behind it."""
