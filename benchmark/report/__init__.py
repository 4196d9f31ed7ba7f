"""Reports on the records: the leaderboard (Markdown, HTML, CSV), figures, and the comparison with
the SPEED paper's published numbers (``reported.csv``)."""
