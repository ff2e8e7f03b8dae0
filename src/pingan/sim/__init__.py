"""The synthetic district (pingan.sim): people, banks, transactions and fraud campaigns, with ground truth.

Entry points for other engines:

- `generate(scale, seed, out, ...)` writes a district (layout in docs/sim.md);
- `check_district(dir)` verifies it, raising `Violation`;
- `pingan.sim.load` reads it back as records for the platform database.
"""

from pingan.sim.check import CheckReport, Violation, check_district
from pingan.sim.pipeline import generate

__all__ = ["CheckReport", "Violation", "check_district", "generate"]
