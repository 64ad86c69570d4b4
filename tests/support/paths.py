"""Where the test fixtures are (import as `from support.paths import PARITY`)."""
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PARITY = FIXTURES / "mediapipe_parity"
