"""The DC and DSA papers' Fashion-MNIST numbers (docs/protocol.md §10), a source of reported numbers."""

from benchmark.report.reported import ReportedNumbers

NUMBERS = ReportedNumbers("baselines", "reported.csv")
