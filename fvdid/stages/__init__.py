"""Pipeline stages: one stage a module, connected by plain data."""
