"""Reporting: the appendix writer, figures and statistical disclosure control."""
