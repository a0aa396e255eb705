"""`cme-policy run`: screen a school's exports and audit its case log with the checkers."""
