"""The readers of a school's exports, one module per file kind (see `cme_policy.runtime.readers`
for the map, and docs/data-formats.md for the formats)."""
