"""Notify's domain: notices, masking, mails. Pure: no database, network or clock."""
