"""One module per area of the policy view; each `compute(today)` returns its
measures as `Tally`s from a fixed number of aggregate queries and bounded
passes over plain tuples, never a query per row."""
