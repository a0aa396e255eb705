"""cme-policy: a policy-as-code compiler for Children Missing Education procedures."""
