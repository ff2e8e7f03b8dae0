"""Command (情指行): 110 incidents, units and their dispatch, and the 110 clock chain."""
