"""Complaints and petitions (信访投诉): intake, repeat linking, statutory clocks, handling and satisfaction."""
