"""Reporting: tables, figures and reports built from results (never re-estimating)."""
