"""Pure domain of the funds service: the joint-account ledger and disbursement rules."""
