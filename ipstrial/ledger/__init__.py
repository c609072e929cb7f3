"""A concealed, tamper-evident allocation ledger in SQLite or PostgreSQL (issue 12).

Recruiters allocate participants one at a time; each allocation is one transaction, is decided by the design
and a secret key the database never holds (only its SHA-256 commitment), and is chained to the previous row by
an HMAC, so that ``verify`` finds any edited, removed or inserted row and, with the key at unblinding, checks
that every allocation is the one the committed design and key produce.

>>> from ipstrial.ledger import Ledger, LedgerDesign  # doctest: +SKIP
>>> design = LedgerDesign("T1", ["IPS", "SAU"], [2, 4], {"site": ["Odense", "Aarhus"]})  # doctest: +SKIP
>>> ledger = Ledger.init("trial.db", design, "trial.key")  # doctest: +SKIP
>>> ledger.allocate("P0001", {"site": "Odense"}).arm  # doctest: +SKIP
"""

from ipstrial.ledger._design import SCHEMES, LedgerDesign
from ipstrial.ledger._export import LedgerExport, read_export
from ipstrial.ledger._ledger import Allocation, Ledger
from ipstrial.ledger._verify import VerifyReport

__all__ = ["SCHEMES", "Allocation", "Ledger", "LedgerDesign", "LedgerExport", "VerifyReport", "read_export"]
