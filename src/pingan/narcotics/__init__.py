"""Wastewater-based drug monitoring (污水+大数据): sewershed loads, trends and dumping flags; aggregates only."""
