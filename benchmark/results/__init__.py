"""Records (one JSON per trained evaluation network), their store, and pandas tables."""
