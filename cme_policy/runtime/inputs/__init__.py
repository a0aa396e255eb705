"""Input formats beyond the CSV readers of `cme_policy.runtime.readers` (CTF XML)."""
